from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"

    def ready(self) -> None:
        from console.csp_cache import csp_policy_cache_install
        from console.revocation_receivers import revocation_receivers_connect

        revocation_receivers_connect()
        csp_policy_cache_install()

from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"

    def ready(self) -> None:
        from console.revocation_receivers import revocation_receivers_connect

        revocation_receivers_connect()

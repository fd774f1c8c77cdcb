from django.apps import AppConfig


class EvalsConfig(AppConfig):
    name = "evals"

    def ready(self) -> None:
        from agents.runtime.endings import task_end_listener_register
        from agents.services.version_checks import version_checker_register
        from evals.services.runs import eval_task_ended
        from evals.services.versions import RequiredSuites

        version_checker_register(RequiredSuites())
        task_end_listener_register(eval_task_ended)

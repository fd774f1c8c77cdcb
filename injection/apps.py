from django.apps import AppConfig


class InjectionConfig(AppConfig):
    name = "injection"
    verbose_name = "Prompt-injection defence"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from agents.models import Task
        from agents.runtime.inspect import inspector_register
        from injection.inspector import InjectionInspector
        from injection.untrusted_input import on_task_saved

        inspector_register(InjectionInspector())
        post_save.connect(on_task_saved, sender=Task, dispatch_uid="injection.task_input")

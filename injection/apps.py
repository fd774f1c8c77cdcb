from django.apps import AppConfig


class InjectionConfig(AppConfig):
    name = "injection"
    verbose_name = "Prompt-injection defence"

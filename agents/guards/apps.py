from django.apps import AppConfig


class GuardsConfig(AppConfig):
    """Guardrails keep their own tables (per-agent config, the durable spend ledger)."""

    name = "agents.guards"
    label = "guards"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Guardrails"

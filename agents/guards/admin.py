from django.contrib import admin

from agents.guards.models import GuardAlert, GuardConfig, SpendRecord, ToolGuard
from agents.guards.pages import GuardConfigForm


@admin.register(GuardConfig)
class GuardConfigAdmin(admin.ModelAdmin):
    form = GuardConfigForm  # the routing table's models are checked here as on the guards page
    list_display = ["agent", "session_max_tokens", "user_day_usd", "retry_budget", "context_max_tokens"]


@admin.register(ToolGuard)
class ToolGuardAdmin(admin.ModelAdmin):
    list_display = [
        "tool",
        "requests_per_minute",
        "breaker_failures",
        "breaker_error_rate",
        "breaker_cooldown_s",
    ]


@admin.register(GuardAlert)
class GuardAlertAdmin(admin.ModelAdmin):
    list_display = ["at", "scope", "subject", "spent_usd", "ceiling_usd"]


@admin.register(SpendRecord)
class SpendRecordAdmin(admin.ModelAdmin):
    list_display = ["at", "model", "user_key", "session_id", "cost_usd"]
    list_filter = ["model"]

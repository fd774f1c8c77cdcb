from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class GuardConfig(models.Model):
    """Per-agent guardrail settings; an empty field falls back to the GUARD_* setting."""

    agent = models.OneToOneField("agents.Agent", on_delete=models.CASCADE, related_name="guard_config")
    session_max_tokens = models.PositiveIntegerField(
        null=True, blank=True, help_text="token budget per session (input + output)"
    )
    user_day_usd = models.DecimalField(
        max_digits=12, decimal_places=6, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    retry_budget = models.PositiveIntegerField(null=True, blank=True, help_text="tool retries per task")
    context_max_tokens = models.PositiveIntegerField(null=True, blank=True)
    keep_tool_results = models.PositiveIntegerField(null=True, blank=True)
    # complexity ("tool_choice", "classify", "summarise", "final", "large") → routed model name
    routing = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"guards for agent {self.agent_id}"


class ToolGuard(models.Model):
    """Per-tool circuit breaker and rate limit; an empty field falls back to the GUARD_* setting."""

    tool = models.OneToOneField("agents.Tool", on_delete=models.CASCADE, related_name="guard")
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True)
    breaker_failures = models.PositiveIntegerField(
        null=True, blank=True, help_text="consecutive failures that open the breaker"
    )
    breaker_error_rate = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(1)]
    )
    breaker_cooldown_s = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"guards for tool {self.tool_id}"


class SpendRecord(models.Model):
    """One settled model call: the durable copy of the Redis cost counters, to rebuild them."""

    reservation = models.CharField(max_length=100, unique=True)
    task_id = models.UUIDField()
    session_id = models.UUIDField()
    user_key = models.CharField(max_length=250)
    model = models.CharField(max_length=200)
    cost_usd = models.DecimalField(max_digits=24, decimal_places=12, default=Decimal("0"))
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["session_id"], name="spend_session"),
            models.Index(fields=["user_key", "at"], name="spend_user_at"),
            models.Index(fields=["at"], name="spend_at"),
        ]

    def __str__(self) -> str:
        return f"{self.cost_usd} USD for {self.reservation}"


class GuardAlert(models.Model):
    """A cost scope (session, user-day, global-hour) that passed GUARD_ALERT_AT of its ceiling."""

    scope = models.CharField(max_length=20)
    scope_key = models.CharField(max_length=300, unique=True, help_text="one alert per scope and window")
    subject = models.CharField(max_length=250, help_text="the session, user or hour it is about")
    ceiling_usd = models.DecimalField(max_digits=12, decimal_places=6)
    spent_usd = models.DecimalField(max_digits=24, decimal_places=12)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.scope} {self.subject} at {self.spent_usd}/{self.ceiling_usd} USD"

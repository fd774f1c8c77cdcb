import uuid

from django.conf import settings
from django.db import models

from core.tiers import RiskTier


class ExternalAction(models.Model):
    """One tool call an agent that runs elsewhere asked the gate API about.

    Low calls are answered here at once; any other tier also holds an ActionRequest (the same
    queue, quorum and clocks as the runtime's calls), which decides the call.
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success"
        ERROR = "error"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    task = models.ForeignKey("agents.Task", on_delete=models.CASCADE, related_name="external_actions")
    request = models.OneToOneField(
        "approvals.ActionRequest", null=True, blank=True, on_delete=models.CASCADE, related_name="external"
    )
    tool_name = models.CharField(max_length=64)
    arguments = models.JSONField(help_text="the arguments as the caller sent them")
    tier = models.CharField(max_length=10, choices=RiskTier.choices)
    context = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    # SHA-256 of what the key was first used with: the same key for another call is refused.
    fingerprint = models.CharField(max_length=64)
    callback_url = models.URLField(max_length=2000, blank=True)
    # Set once, by the one result report that wins the conditional update (a second gets 409).
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    result = models.JSONField(null=True, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="external_action_unique_key",
            )
        ]

    def __str__(self) -> str:
        return f"external action {self.id} ({self.tool_name})"

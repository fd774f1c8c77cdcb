"""The durable mark of a tool call that may be sent at most once."""

from django.db import models


class ToolDispatch(models.Model):
    """One sent call to a tool that must not see it twice (agents/tools/at_most_once.py).

    Written and committed before the request leaves, so a delivery that finds it `in_flight`
    knows the request may have had its effect and must not send it again.
    """

    class Status(models.TextChoices):
        IN_FLIGHT = "in_flight"  # sent (or about to be); no answer recorded
        ANSWERED = "answered"  # the tool's answer is in `result`
        OUTCOME_UNKNOWN = "outcome_unknown"  # its worker died in flight: a person must say what happened

    task = models.ForeignKey("agents.Task", on_delete=models.CASCADE, related_name="tool_dispatches")
    step_index = models.PositiveIntegerField()
    call_index = models.PositiveIntegerField()
    tool_name = models.CharField(max_length=64)
    request = models.JSONField(help_text="what was sent: method, url, arguments, Idempotency-Key")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_FLIGHT)
    result = models.JSONField(null=True, blank=True)
    sent_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["task", "step_index", "call_index"], name="tool_dispatch_per_call"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tool_name} call {self.step_index}.{self.call_index} of {self.task_id} ({self.status})"

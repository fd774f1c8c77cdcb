"""A step: one model call and the tool calls it asked for, keyed by (task, index)."""

from decimal import Decimal

from django.db import models


class Step(models.Model):
    """One model call and the tool calls it asked for. Keyed by (task, index)."""

    class Status(models.TextChoices):
        # The model has answered and its reply is stored; tool calls may still be running.
        MODEL_DONE = "model_done"
        COMPLETED = "completed"

    # No index of its own: step_unique_index leads with it (every step writes a row here).
    task = models.ForeignKey("agents.Task", on_delete=models.CASCADE, related_name="steps", db_index=False)
    index = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.MODEL_DONE)
    model = models.CharField(max_length=200)
    response = models.JSONField(default=dict, help_text="the assistant message")
    tool_results = models.JSONField(default=list)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cached_input_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=24, decimal_places=12, default=Decimal("0"))
    model_latency_ms = models.FloatField(default=0)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["task", "index"]
        constraints = [models.UniqueConstraint(fields=["task", "index"], name="step_unique_index")]
        # The budget-burn alert sums today's steps every minute.
        indexes = [models.Index(fields=["started_at"], name="step_started")]

    def __str__(self) -> str:
        return f"step {self.index} of {self.task_id}"

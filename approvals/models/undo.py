"""The undo of one executed action: which compensating call of which undo task reverses it."""

from django.conf import settings
from django.db import models


class ActionUndo(models.Model):
    """One executed tool call (the original task's step and call) and the compensation that
    undoes it: call `undo_call_index` of the first step of `undo_task`. Unique per original
    call, so a second undo of the same action finds this row instead of running again."""

    class Status(models.TextChoices):
        PENDING = "pending"  # the undo task has not ended yet
        UNDONE = "undone"  # the compensation succeeded
        FAILED = "failed"  # it did not run or did not succeed (`error` says why); may be retried

    task = models.ForeignKey("agents.Task", on_delete=models.CASCADE, related_name="+")
    step_index = models.PositiveIntegerField()
    call_index = models.PositiveIntegerField()
    tool_name = models.CharField(max_length=64)
    compensation_tool = models.CharField(max_length=64)
    arguments = models.JSONField(help_text="the compensation's arguments, from the mapping")
    undo_task = models.ForeignKey("agents.Task", on_delete=models.CASCADE, related_name="undoes")
    undo_call_index = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task", "step_index", "call_index"], name="action_undo_per_call")
        ]
        indexes = [models.Index(fields=["status", "undo_task"], name="action_undo_pending")]

    def __str__(self) -> str:
        return f"undo of {self.tool_name} ({self.task_id} {self.step_index}.{self.call_index}, {self.status})"

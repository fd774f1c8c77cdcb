import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models


class Session(models.Model):
    """One conversation of an agent with one end user: the scope of budgets and memory."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey("agents.Agent", on_delete=models.PROTECT, related_name="sessions")
    agent_version = models.ForeignKey(
        "agents.AgentVersion", on_delete=models.PROTECT, related_name="sessions"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="agent_sessions"
    )
    end_user = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="session_owner_recent")]

    def __str__(self) -> str:
        return f"session {self.id}"


class Task(models.Model):
    """One request submitted into a session, run step by step by workers."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        WAITING_APPROVAL = "waiting_approval"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        HALTED = "halted"
        CANCELLED = "cancelled"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)
    FINAL_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.HALTED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="tasks")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tasks")
    input = models.TextField()
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    # SHA-256 of the request the key was first used with: the same key with another request is
    # refused, not answered with this task. Empty for tasks from before it was kept.
    idempotency_fingerprint = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    result = models.TextField(blank=True)
    partial = models.BooleanField(default=False, help_text="the result is the best answer so far")
    stop_reason = models.CharField(max_length=100, blank=True)
    stop_detail = models.TextField(blank=True)
    # The checkpoint: the conversation so far and the index of the next step to run.
    messages = models.JSONField(default=list)
    step_index = models.PositiveIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cached_input_tokens = models.BigIntegerField(default=0)
    # Prices have 6 decimal places per million tokens, so a cost is exact to 12 places:
    # all 12 are kept, so a task's cost is exactly the sum of its calls' costs.
    cost_usd = models.DecimalField(max_digits=24, decimal_places=12, default=Decimal("0"))
    tool_calls = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="task_unique_idempotency_key",
            )
        ]
        indexes = [
            models.Index(fields=["session", "created_at"], name="task_session_order"),
            models.Index(fields=["status", "lease_until"], name="task_status_lease"),
            models.Index(fields=["owner", "-created_at"], name="task_owner_recent"),
        ]

    def __str__(self) -> str:
        return f"task {self.id} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES


class Step(models.Model):
    """One model call and the tool calls it asked for. Keyed by (task, index)."""

    class Status(models.TextChoices):
        # The model has answered and its reply is stored; tool calls may still be running.
        MODEL_DONE = "model_done"
        COMPLETED = "completed"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="steps")
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

    def __str__(self) -> str:
        return f"step {self.index} of {self.task_id}"

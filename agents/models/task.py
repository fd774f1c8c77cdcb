"""A task: one request submitted into a session, and its run state (lease, checkpointed messages)."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models


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
        # The work of an agent that runs elsewhere (the gate API): no worker ever runs it.
        EXTERNAL = "external"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)
    FINAL_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.HALTED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of their own: task_session_order and task_owner_recent lead with them. A step's
    # checkpoint updates the row and its lease (indexed), so every index takes a new entry.
    session = models.ForeignKey(
        "agents.Session", on_delete=models.CASCADE, related_name="tasks", db_index=False
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tasks", db_index=False
    )
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
    # The checkpoint: the conversation so far and the index of the next step to run. The
    # session's earlier conversation is not copied: it is the first `history_messages` messages
    # of `history_task`'s conversation (memory notes left out), which precede `messages`
    # (agents/runtime/messages.py task_conversation).
    messages = models.JSONField(default=list)
    history_task = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    history_messages = models.PositiveIntegerField(default=0)
    step_index = models.PositiveIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cached_input_tokens = models.BigIntegerField(default=0)
    # Prices have 6 decimal places per million tokens, so a cost is exact to 12 places:
    # all 12 are kept, so a task's cost is exactly the sum of its calls' costs.
    cost_usd = models.DecimalField(max_digits=24, decimal_places=12, default=Decimal("0"))
    tool_calls = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    # The lease: which run holds the task (a token per claim) and until when. The holder renews it
    # while its step runs (agents/runtime/lease.py); once it passes, another worker may take over.
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.UUIDField(null=True, blank=True)
    # When a run was last sent to the broker: the stalled-task sweeper re-sends only runs whose
    # message can have been lost, instead of every queued task on every sweep.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # A recording served instead of the model or the tools (agents/runtime/playback.py): eval
    # runs, replays and undo tasks. Empty for an ordinary task.
    playback = models.JSONField(default=dict, blank=True)
    # Runs that ended on an unexpected error; at TASK_MAX_RUN_FAILURES the task fails.
    run_failures = models.PositiveSmallIntegerField(default=0)
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
            # The REST list's keyset order (core.pagination): newest first, the id breaking ties.
            models.Index(fields=["created_at", "id"], name="task_created_order"),
            models.Index(fields=["status", "created_at", "id"], name="task_status_order"),
            # Periodic scans: the stuck-sessions alert (finished_at, and started_at of the tasks
            # still running); the daily report and cost pages use task_created_order.
            models.Index(fields=["finished_at"], name="task_finished"),
            models.Index(
                fields=["started_at"],
                name="task_unfinished_started",
                condition=models.Q(finished_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"task {self.id} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES

import uuid

from django.conf import settings
from django.db import models

from core.tiers import RiskTier


class ActionRequest(models.Model):
    """One tool call a policy held for people, bound to the exact call it will run."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"
        CANCELLED = "cancelled"
        EXPIRED = "expired"
        EXECUTING = "executing"
        EXECUTED = "executed"
        FAILED = "failed"
        # Sent to a tool that may see it at most once, and its worker died before the answer:
        # never sent again; a person records what happened (executed with a result, or not_done).
        OUTCOME_UNKNOWN = "outcome_unknown"
        NOT_DONE = "not_done"
        # A critical request a person carried out outside Tollgate, closed with their note.
        DONE = "done", "done by a person"

    OPEN_STATUSES = (Status.PENDING,)
    # What the queue shows: requests that wait for a person.
    QUEUE_STATUSES = (Status.PENDING, Status.OUTCOME_UNKNOWN)
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey("agents.Task", on_delete=models.CASCADE, related_name="action_requests")
    step_index = models.PositiveIntegerField()
    call_index = models.PositiveIntegerField()
    call_id = models.CharField(max_length=200)
    tool_name = models.CharField(max_length=64)
    agent_name = models.CharField(max_length=100)
    arguments = models.JSONField(help_text="canonical arguments of the current version")
    original_arguments = models.JSONField()
    reasoning = models.TextField(blank=True, help_text="the model's text that came with the call")
    version = models.PositiveIntegerField(default=1, help_text="bumped by every edit of the arguments")
    tier = models.CharField(max_length=10, choices=RiskTier.choices)
    rule = models.ForeignKey(
        "approvals.PolicyRule", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule_snapshot = models.JSONField(null=True, blank=True)
    # Why the session is suspect, as it was when the call came (docs/injection.md): its taint
    # sources, the addresses no trusted text vouches for, and its latest detections.
    taint = models.JSONField(null=True, blank=True)
    policy_version = models.PositiveIntegerField()
    request_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    approvals_required = models.PositiveIntegerField(default=1)
    reviewer_group = models.CharField(max_length=150)
    # Deadlines live here, not in a worker's memory, so the beat sweeper honours them after restarts.
    autosend_at = models.DateTimeField(null=True, blank=True, help_text="medium: runs by itself at")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="high: expires (= rejected) at")
    sla_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    execution_started_at = models.DateTimeField(null=True, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    sent_request = models.JSONField(
        null=True, blank=True, help_text="outcome_unknown: the request that was sent and never answered"
    )
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome_note = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "step_index", "call_index"], name="action_request_per_call"
            )
        ]
        indexes = [
            models.Index(fields=["status", "autosend_at"], name="action_request_autosend"),
            models.Index(fields=["status", "expires_at"], name="action_request_expiry"),
            models.Index(fields=["status", "reviewer_group", "created_at"], name="action_request_queue"),
            # The REST list and the queue page page by (created_at, id) (core.pagination).
            models.Index(fields=["status", "created_at", "id"], name="action_request_status_order"),
            models.Index(fields=["created_at", "id"], name="action_request_order"),
            # The sweeper's search for pending requests past their SLA.
            models.Index(
                fields=["sla_at"],
                name="action_request_sla",
                condition=models.Q(status="pending", escalated_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"action request {self.id} ({self.tool_name}, {self.status})"

    @property
    def idempotency_key(self) -> str:
        """The tool call's key: the same for every attempt at this version of the request."""
        return f"tollgate-ar-{self.id}-v{self.version}"


class ActionVote(models.Model):
    """One reviewer's approval of one version of a request; quorum counts distinct reviewers."""

    request = models.ForeignKey(ActionRequest, on_delete=models.CASCADE, related_name="votes")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "reviewer", "version"], name="action_vote_once")
        ]

    def __str__(self) -> str:
        return f"{self.reviewer_id} approved {self.request_id} v{self.version}"

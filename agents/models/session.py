"""A session: one conversation of an agent with one end user."""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from agents.models.rollout import Rollout


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
    # Taint (docs/injection.md): untrusted text entered the context; a detector fired on it;
    # which tools (or "input") brought it. They only ever turn on, by conditional updates.
    tainted = models.BooleanField(default=False)
    suspicious = models.BooleanField(default=False)
    taint_sources = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    # The caller's own id of a session of an agent that runs elsewhere (gate API, OTLP).
    external_id = models.CharField(max_length=200, blank=True, default="")
    # The rollout that chose this session's version, and the arm it drew (agents/rollouts/).
    rollout = models.ForeignKey(
        "agents.Rollout", null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions"
    )
    rollout_arm = models.CharField(max_length=10, choices=Rollout.Arm.choices, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="session_owner_recent"),
            # The REST list's keyset order (core.pagination).
            models.Index(fields=["created_at", "id"], name="session_created_order"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "agent", "external_id"],
                condition=~models.Q(external_id=""),
                name="session_unique_external_id",
            )
        ]

    def __str__(self) -> str:
        return f"session {self.id}"

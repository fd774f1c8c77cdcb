"""A session: one conversation of an agent with one end user."""

import uuid

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
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="session_owner_recent"),
            # The sessions list of a reviewer or admin: every session, newest first.
            models.Index(fields=["-created_at", "-id"], name="session_recent"),
        ]

    def __str__(self) -> str:
        return f"session {self.id}"

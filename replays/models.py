"""A replay: a recorded task run again from its recording, and compared with it (docs/replay.md)."""

import uuid

from django.conf import settings
from django.db import models


class Replay(models.Model):
    """`task` re-runs `original` in a session of its own: the original's model replies (unless
    `live_model`) and tool results are served back, and the runtime decides everything again."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    original = models.ForeignKey("agents.Task", on_delete=models.CASCADE, related_name="replays")
    task = models.OneToOneField("agents.Task", on_delete=models.CASCADE, related_name="replay")
    agent_version = models.ForeignKey("agents.AgentVersion", on_delete=models.PROTECT, related_name="+")
    # None: the policy in force at each call (today's); a number: that saved version's rules.
    policy_version = models.PositiveIntegerField(null=True, blank=True)
    live_model = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["original", "-created_at"], name="replay_of_original")]

    def __str__(self) -> str:
        return f"replay {self.id} of {self.original_id}"

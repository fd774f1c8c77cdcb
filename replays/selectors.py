"""Who may read a replay: whoever may read its task (its owner, reviewers, admins)."""

import uuid

from django.contrib.auth.models import AbstractUser

from agents.selectors import tasks_visible
from core.errors import NotFound
from replays.models import Replay


def replay_get_visible(*, replay_id: uuid.UUID, user: AbstractUser) -> Replay:
    """The replay if `user` may read its task; anyone else is told it does not exist."""
    replay = (
        Replay.objects.select_related("task", "original", "agent_version__agent")
        .filter(pk=replay_id, task__in=tasks_visible(user=user))
        .first()
    )
    if replay is None:
        raise NotFound(f"no replay {replay_id}")
    return replay

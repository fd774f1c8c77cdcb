"""Which version a new session of an agent runs: the one place that decides it
(agents.services.sessions.session_create asks it for every new session).

Without an active rollout, the agent's current version. With one, the session's id decides its
arm: the same id always draws the same arm (so a retried creation agrees with itself), ids are
random, so over many sessions the canary's share comes near the rollout's percent.
"""

import hashlib
import uuid
from dataclasses import dataclass

from agents.models import Agent, AgentVersion, Rollout


@dataclass(frozen=True)
class Assignment:
    version: AgentVersion
    rollout: Rollout | None = None
    arm: str = ""


def rollout_arm(*, rollout_id: int, session_id: uuid.UUID, percent: int) -> str:
    """canary for `percent` of session ids, baseline for the others; the rollout's id is hashed
    in too, so that one rollout's canary sessions are not always the next one's."""
    digest = hashlib.sha256(f"{rollout_id}:{session_id}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % 100
    return Rollout.Arm.CANARY if bucket < percent else Rollout.Arm.BASELINE


def session_version_assign(*, agent: Agent, session_id: uuid.UUID) -> Assignment:
    """The version, and the rollout and arm if one chose it, of a new session `session_id`."""
    rollout = (
        Rollout.objects.select_related("baseline", "canary")
        .filter(agent=agent, status=Rollout.Status.ACTIVE)
        .first()
    )
    if rollout is None:
        if agent.current_version is None:
            raise ValueError(f"agent {agent.name!r} has no current version")
        return Assignment(version=agent.current_version)
    arm = rollout_arm(rollout_id=rollout.pk, session_id=session_id, percent=rollout.percent)
    version = rollout.canary if arm == Rollout.Arm.CANARY else rollout.baseline
    return Assignment(version=version, rollout=rollout, arm=arm)

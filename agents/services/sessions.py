"""Creating sessions: task submission and the gate API's external sessions both come here."""

import uuid

from django.contrib.auth.models import User

from agents.models import Agent, Session
from agents.rollouts.assignment import session_version_assign


def session_create(*, agent: Agent, owner: User, end_user: str = "", external_id: str = "") -> Session:
    """A new session of `agent` on the version an active rollout draws for it, else the current one."""
    session_id = uuid.uuid4()
    assignment = session_version_assign(agent=agent, session_id=session_id)
    return Session.objects.create(
        id=session_id,
        agent=agent,
        agent_version=assignment.version,
        rollout=assignment.rollout,
        rollout_arm=assignment.arm,
        owner=owner,
        end_user=end_user,
        external_id=external_id,
    )

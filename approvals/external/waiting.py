"""The long-poll: wait for a decision without holding a database connection or a thread.

The caller's answer is read (a short burst on a pooled connection, handed back at once); while
it is pending the request subscribes to the decision's Redis signal (signal.py), reads again
(a decision made before the subscription is seen there), waits for the signal, and reads once
more.
"""

import uuid
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.db import connection

from approvals.external.answer import external_action_answer, external_action_load
from approvals.external.signal import decision_wait
from core.errors import NotFound

MAX_WAIT_S = 60.0


def external_action_read(*, owner: User, action_id: uuid.UUID) -> dict[str, Any]:
    """The caller's answer about its action; another user's action does not exist for it."""
    try:
        action = external_action_load(action_id=action_id)
        if action is None or action.owner_id != owner.pk:
            raise NotFound(f"no action {action_id}")
        return external_action_answer(action)
    finally:
        # Hand the connection back to the pool before the request waits (outside a transaction:
        # tests that wrap everything in one keep theirs).
        if not connection.in_atomic_block:
            connection.close()


async def external_action_wait(*, owner: User, action_id: uuid.UUID, wait_s: float) -> dict[str, Any]:
    """The answer, once decided or after `wait_s` seconds (at most MAX_WAIT_S), whichever is first."""
    read = sync_to_async(external_action_read)
    answer = await read(owner=owner, action_id=action_id)
    if answer["decision"] != "pending" or wait_s <= 0:
        return answer

    async def decided() -> bool:
        nonlocal answer
        answer = await read(owner=owner, action_id=action_id)
        return bool(answer["decision"] != "pending")

    request_id, timeout = answer["action_request"], min(wait_s, MAX_WAIT_S)
    await decision_wait(request_id=request_id, owner_id=owner.pk, timeout=timeout, decided=decided)
    if answer["decision"] == "pending":
        answer = await read(owner=owner, action_id=action_id)
    return answer

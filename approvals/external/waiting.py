"""The long-poll: wait for a decision without holding a database connection or a thread.

The caller's answer is read (a short burst on a pooled connection, handed back at once), then
the request waits on the Channels layer's Redis pub/sub for the decision's push
(decided.py), then reads again. A push missed between the read and the subscription cannot be
lost: the subscription is made before the second read.
"""

import asyncio
import uuid
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.models import User
from django.db import connection

from approvals.external.answer import external_action_answer, external_action_load
from approvals.external.decided import decided_group
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
    layer = get_channel_layer()
    channel = await layer.new_channel()
    group = decided_group(answer["action_request"])
    await layer.group_add(group, channel)
    try:
        answer = await read(owner=owner, action_id=action_id)
        if answer["decision"] == "pending":
            try:
                await asyncio.wait_for(layer.receive(channel), timeout=min(wait_s, MAX_WAIT_S))
            except TimeoutError:
                return answer
            answer = await read(owner=owner, action_id=action_id)
    finally:
        await layer.group_discard(group, channel)
    return answer

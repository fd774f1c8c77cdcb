"""The WebSocket a task page listens on while its trace grows."""

import uuid
from typing import Any

from channels.db import database_sync_to_async

from agents.selectors import task_get_visible
from console.consumers import RevocableConsumer
from console.revocation import CLOSE_FORBIDDEN, socket_user
from core.errors import NotFound
from tracing.live import trace_group


def _may_watch(user: Any, task_id: uuid.UUID) -> bool:
    if user is None or not user.is_authenticated:
        return False
    try:
        task_get_visible(task_id=task_id, user=user)
    except NotFound:
        return False
    return True


@database_sync_to_async
def _may_watch_now(scope: dict[str, Any], task_id: uuid.UUID) -> bool:
    """Whether the socket's user, read afresh (session, active, password), may still read the task."""
    return _may_watch(socket_user(scope), task_id)


class TraceConsumer(RevocableConsumer):
    task_id: uuid.UUID

    async def connect(self) -> None:
        self.task_id = self.scope["url_route"]["kwargs"]["task_id"]
        if not await database_sync_to_async(_may_watch)(self.scope.get("user"), self.task_id):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.listen_for_revocation()
        await self.listen(trace_group(self.task_id))
        await self.accept()

    async def access_follow(self, user: Any) -> bool:
        return await database_sync_to_async(_may_watch)(user, self.task_id)

    async def spans_added(self, event: dict[str, Any]) -> None:
        if self.revoked:
            return
        if not await _may_watch_now(self.scope, self.task_id):
            await self.revoke()
            return
        await self.send_json({"event": "spans_added", "step": event["step"], "finished": event["finished"]})

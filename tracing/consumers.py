"""The WebSocket a task page listens on while its trace grows."""

import uuid
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from agents.selectors import task_get_visible
from core.errors import NotFound
from tracing.live import trace_group

# Close codes in the application range: the page stops retrying on these.
CLOSE_FORBIDDEN = 4403


@database_sync_to_async
def _may_watch(user: Any, task_id: uuid.UUID) -> bool:
    if not user.is_authenticated:
        return False
    try:
        task_get_visible(task_id=task_id, user=user)
    except NotFound:
        return False
    return True


class TraceConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def connect(self) -> None:
        task_id = self.scope["url_route"]["kwargs"]["task_id"]
        if not await _may_watch(self.scope.get("user"), task_id):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = trace_group(task_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def spans_added(self, event: dict[str, Any]) -> None:
        await self.send_json({"event": "spans_added", "step": event["step"], "finished": event["finished"]})

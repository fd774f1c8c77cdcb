"""The live approval queue: reviewers' browsers hear of new, changed and decided requests.

Authenticated from the Django session (AuthMiddlewareStack); reviewers and admins only. A
reviewer joins one channel group per reviewer group they belong to; admins join all.
"""

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from approvals.live import ADMINS_GROUP, reviewer_channel_group
from approvals.selectors import user_may_open_queue, user_reviewer_groups
from core.json_input import RequestRejected, json_parse_strict

CLOSE_FORBIDDEN = 4403


@database_sync_to_async
def _channel_groups(user: Any) -> list[str] | None:
    """The channel groups `user` may listen to, or None if they may not open the queue."""
    if user is None or not user.is_authenticated or not user_may_open_queue(user=user):
        return None
    groups = user_reviewer_groups(user=user)
    if groups is None:
        return [ADMINS_GROUP]
    return [reviewer_channel_group(name) for name in groups]


class ApprovalQueueConsumer(AsyncJsonWebsocketConsumer):
    joined: list[str]

    async def connect(self) -> None:
        self.joined = []
        user = self.scope.get("user")
        groups = await _channel_groups(user)
        if groups is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.username = user.get_username()
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.joined = groups
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.joined:
            await self._broadcast_presence(None)
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        # The console's one JSON parser; a frame it refuses (binary, malformed, NaN, too deep)
        # is dropped like an unknown message instead of ending the connection with an error.
        try:
            content = json_parse_strict(text_data or "")
        except RequestRejected:
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The only message a browser sends: which request its reviewer is looking at.
        if not isinstance(content, dict) or content.get("type") != "looking":
            return
        request_id = content.get("request")
        if request_id is not None and (not isinstance(request_id, str) or len(request_id) > 64):
            return
        await self._broadcast_presence(request_id)

    async def _broadcast_presence(self, request_id: str | None) -> None:
        message = {
            "type": "presence",
            "user": self.username,
            "request": request_id,
            "sender": self.channel_name,
        }
        for group in {*self.joined, ADMINS_GROUP}:
            await self.channel_layer.group_send(group, message)

    async def request_event(self, event: dict[str, Any]) -> None:
        await self.send_json({"event": event["event"], "request": event["request"]})

    async def presence(self, event: dict[str, Any]) -> None:
        if event["sender"] != self.channel_name:
            await self.send_json({"event": "presence", "user": event["user"], "request": event["request"]})

"""The live approval queue: reviewers' browsers hear of new, changed and decided requests.

Authenticated from the Django session (AuthMiddlewareStack); reviewers and admins only. A
reviewer joins one channel group per reviewer group they belong to; admins join all. Access
is checked again on every revocation (console.revocation) and before every request sent.
"""

from typing import Any

from channels.db import database_sync_to_async

from approvals.live import ADMINS_GROUP, reviewer_channel_group
from approvals.selectors import user_may_open_queue, user_may_review, user_reviewer_groups
from console.consumers import RevocableConsumer
from console.revocation import CLOSE_FORBIDDEN, socket_user
from core.json_input import RequestRejected, json_parse_strict


@database_sync_to_async
def _channel_groups(user: Any) -> list[str] | None:
    """The channel groups `user` may listen to, or None if they may not open the queue."""
    if user is None or not user.is_authenticated or not user_may_open_queue(user=user):
        return None
    groups = user_reviewer_groups(user=user)
    if groups is None:
        return [ADMINS_GROUP]
    return [reviewer_channel_group(name) for name in groups]


@database_sync_to_async
def _may_hear(scope: dict[str, Any], reviewer_group: str) -> bool | None:
    """Whether the socket's user, read afresh, reviews `reviewer_group`; None: no user any more."""
    user = socket_user(scope)
    if user is None:
        return None
    return user_may_review(user=user, reviewer_group=reviewer_group)


class ApprovalQueueConsumer(RevocableConsumer):
    joined: list[str]
    username = ""

    async def connect(self) -> None:
        self.joined = []
        user = self.scope.get("user")
        groups = await _channel_groups(user)
        if groups is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.username = user.get_username()
        await self.listen_for_revocation()
        for group in groups:
            await self.listen(group)
        self.joined = groups
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.joined:
            await self._broadcast_presence(None)
        await super().disconnect(code)

    async def access_follow(self, user: Any) -> bool:
        groups = await _channel_groups(user)
        if groups is None:
            return False
        for group in set(self.joined) - set(groups):
            await self.unlisten(group)
        for group in set(groups) - set(self.joined):
            await self.listen(group)
        self.joined = groups
        return True

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
        if self.revoked or not isinstance(content, dict) or content.get("type") != "looking":
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
        if self.revoked:
            return
        request = event["request"]
        hears = await _may_hear(self.scope, request["reviewer_group"])
        if hears is None:
            await self.revoke()
            return
        if not hears:
            # A membership change this socket was not told of (QuerySet.update(), SQL): follow it.
            await self.recheck()
            return
        await self.send_json({"event": event["event"], "request": request})

    async def presence(self, event: dict[str, Any]) -> None:
        if not self.revoked and event["sender"] != self.channel_name:
            await self.send_json({"event": "presence", "user": event["user"], "request": event["request"]})

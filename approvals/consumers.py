"""The live approval queue: reviewers' browsers hear of new, changed and decided requests.

Authenticated from the Django session (AuthMiddlewareStack); reviewers and admins only. A
reviewer joins one channel group per reviewer group they belong to; admins join all. Access
is read again on every revocation (console.revocation) and, before a request is sent, when the
last read is older than the backstop's max age; each request is checked against the reviewer
groups that read found, without a database read per event.
"""

from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async

from approvals.live import ADMINS_GROUP, reviewer_channel_group
from approvals.selectors import user_may_open_queue, user_reviewer_groups
from console.consumers import RevocableConsumer
from console.revocation import CLOSE_FORBIDDEN
from core.json_input import RequestRejected, json_parse_strict


@dataclass(frozen=True)
class _QueueAccess:
    reviewer_groups: list[str] | None  # the groups whose requests the user hears; None: all (admin)
    channel_groups: list[str]


@database_sync_to_async
def _queue_access(user: Any) -> _QueueAccess | None:
    """What `user` may hear on the queue, or None if they may not open it."""
    if user is None or not user.is_authenticated or not user_may_open_queue(user=user):
        return None
    groups = user_reviewer_groups(user=user)
    if groups is None:
        return _QueueAccess(reviewer_groups=None, channel_groups=[ADMINS_GROUP])
    return _QueueAccess(reviewer_groups=groups, channel_groups=[reviewer_channel_group(g) for g in groups])


class ApprovalQueueConsumer(RevocableConsumer):
    joined: list[str]
    reviewer_groups: list[str] | None
    username = ""

    async def connect(self) -> None:
        self.joined = []
        user = self.scope.get("user")
        access = await _queue_access(user)
        if access is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.username = user.get_username()
        await self.listen_for_revocation()
        for group in access.channel_groups:
            await self.listen(group)
        self.joined, self.reviewer_groups = access.channel_groups, access.reviewer_groups
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.joined:
            await self._broadcast_presence(None)
        await super().disconnect(code)

    async def access_follow(self, user: Any) -> bool:
        access = await _queue_access(user)
        if access is None:
            self.reviewer_groups = []
            return False
        groups = access.channel_groups
        # Narrowed before anything is unlistened: an event already queued is checked against it.
        self.reviewer_groups = access.reviewer_groups
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
        # No database read here while the last access check is fresh: this runs for every
        # socket on every event, on Channels' shared thread.
        if not await self.access_current():
            return
        request = event["request"]
        # Still checked per request: the socket may hear a channel group it shares with another
        # reviewer group (reviewer_channel_group cuts long names), or one it is leaving.
        if self.reviewer_groups is not None and request["reviewer_group"] not in self.reviewer_groups:
            return
        await self.send_json({"event": event["event"], "request": request})

    async def presence(self, event: dict[str, Any]) -> None:
        if not self.revoked and event["sender"] != self.channel_name:
            await self.send_json({"event": "presence", "user": event["user"], "request": event["request"]})

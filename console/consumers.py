"""The base of every socket that streams to signed-in users: access is never checked only once."""

from datetime import datetime, timedelta
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from console.revocation import (
    CLOSE_FORBIDDEN,
    SOCKET_ACCESS_MAX_AGE_S,
    socket_session_ended,
    socket_user,
    user_channel_group,
)
from core import clock


class RevocableConsumer(AsyncJsonWebsocketConsumer):
    """Joins its user's channel group, hears "access.revoked" there, and closes once access is gone.

    Subclasses call `listen()` for every channel group they join (connect() and later),
    implement `access_follow(user)`: True if `user` (read afresh) may keep listening, after
    following any change of what they may hear; and check each event before sending it
    (`access_current()`, then what they keep from their last access check).
    """

    listening: set[str]
    revoked: bool = False
    # When access was last read from the database: connect() and every successful recheck().
    access_checked_at: datetime

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        self.listening = set()
        self.access_checked_at = clock.now()  # before connect() reads it: errs towards re-checking
        await super().websocket_connect(message)

    async def listen(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.listening.add(group)

    async def unlisten(self, group: str) -> None:
        await self.channel_layer.group_discard(group, self.channel_name)
        self.listening.discard(group)

    async def listen_for_revocation(self) -> None:
        await self.listen(user_channel_group(self.scope["user"].pk))

    async def disconnect(self, code: int) -> None:
        for group in list(self.listening):
            await self.unlisten(group)

    async def access_follow(self, user: Any) -> bool:
        raise NotImplementedError

    async def recheck(self) -> bool:
        """Re-authenticate and re-authorize from the database; close the socket if that fails."""
        if self.revoked:
            return False
        checked_at = clock.now()
        user = await database_sync_to_async(socket_user)(self.scope)
        if user is not None and await self.access_follow(user):
            self.access_checked_at = checked_at
            return True
        await self.revoke()
        return False

    async def access_current(self) -> bool:
        """Whether the socket may still send: re-checked from the database only when its last
        check is older than SOCKET_ACCESS_MAX_AGE_S (revocation events re-check at once)."""
        if self.revoked:
            return False
        if clock.now() - self.access_checked_at < timedelta(seconds=SOCKET_ACCESS_MAX_AGE_S):
            return True
        return await self.recheck()

    async def revoke(self) -> None:
        self.revoked = True
        for group in list(self.listening):
            await self.unlisten(group)
        await self.close(code=CLOSE_FORBIDDEN)

    async def access_revoked(self, event: dict[str, Any]) -> None:
        if socket_session_ended(self.scope, event):
            await self.revoke()
        else:
            await self.recheck()

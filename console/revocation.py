"""Live sockets lose what their user lost: logout, deactivation, deletion, group membership.

A socket authenticates once, in connect(); everything after that would be trusted for as long
as the socket stays open. So every consumer that streams to reviewers also joins its user's
channel group, and any change to the user's access sends "access.revoked" there after commit:
the socket then re-authenticates from the database (is the session still there, is its user
still active and the same, has the password changed?) and closes or narrows what it hears.
Between those events a socket trusts what it last read for at most SOCKET_ACCESS_MAX_AGE_S:
the first event it would send after that re-checks first. That backstop covers what sends no
signal (QuerySet.update(), SQL, a session that simply expires) without a database read per
event per socket, which made pushes to many reviewers slow.
"""

import hashlib
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import AbstractUser

from console.live import channel_groups_send
from core.transactions import after_commit

# The close code of a socket whose user may not, or no longer, listen; pages stop reconnecting.
CLOSE_FORBIDDEN = 4403
REVOKED_EVENT = "access.revoked"
# How long a socket trusts its last access check when nothing told it of a change: a change
# without a signal is noticed at the first event after this. Short, since such changes are
# rare and each re-check is one read per socket.
SOCKET_ACCESS_MAX_AGE_S = 30


def user_channel_group(user_id: Any) -> str:
    return f"user.{user_id}"


def session_fingerprint(session_key: str | None) -> str | None:
    """A session's key travels through Redis only as a digest."""
    return hashlib.sha256(session_key.encode()).hexdigest() if session_key else None


def user_sockets_recheck(*, user_ids: list[Any], ended_session: str | None = None) -> None:
    """Once this transaction commits, make every socket of these users re-check its access.

    `ended_session`: the key of a session being logged out; its sockets close at once, since
    the logout's flush may not have committed when they re-check.
    """
    if user_ids:
        after_commit(_send, user_ids=sorted(set(user_ids)), ended=session_fingerprint(ended_session))


def _send(*, user_ids: list[Any], ended: str | None) -> None:
    message = {"type": REVOKED_EVENT, "session": ended}
    channel_groups_send([user_channel_group(user_id) for user_id in user_ids], message)


def socket_session_ended(scope: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether a revocation `event` names the session this socket was opened with."""
    ended = event.get("session")
    session = scope.get("session")
    return bool(ended) and session is not None and ended == session_fingerprint(session.session_key)


def socket_user(scope: dict[str, Any]) -> AbstractUser | None:
    """The user the socket's session still authenticates, read afresh; None if none (any more).

    The scope's own session and user were loaded at connect and are cached, so both are read
    again: a logged-out or expired session, a deactivated or deleted user, or a changed
    password (the session's auth hash) all give None.
    """
    opened_by = scope.get("user")
    session = scope.get("session")
    if opened_by is None or not opened_by.is_authenticated or session is None or not session.session_key:
        return None
    store = import_module(settings.SESSION_ENGINE).SessionStore(session.session_key)
    user = auth.get_user(SimpleNamespace(session=store))  # type: ignore[arg-type]
    if not user.is_authenticated or user.pk != opened_by.pk:
        return None
    return user  # type: ignore[return-value]

"""Which session a call belongs to when the code that makes it does not say."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tollgate_client.types import Decision

_session: ContextVar[str | None] = ContextVar("tollgate_session", default=None)
_action: ContextVar["Decision | None"] = ContextVar("tollgate_action", default=None)


def current_action() -> "Decision | None":
    """Inside a guarded tool: the allowed action it runs for. Send its `tool_idempotency_key`
    to the side effect, so a run repeated after a crash is deduplicated there."""
    return _action.get()


@contextmanager
def running(decision: "Decision") -> Iterator[None]:
    token = _action.set(decision)
    try:
        yield
    finally:
        _action.reset(token)


@contextmanager
def in_session(session: str) -> Iterator[None]:
    """Calls made inside the block (guarded tools included) belong to `session`."""
    token = _session.set(session)
    try:
        yield
    finally:
        _session.reset(token)


def session_of(explicit: str | None, default: str | None) -> str:
    session = explicit or _session.get() or default
    if not session:
        raise ValueError("no session: pass session=..., use in_session(...), or give the client a default")
    return session

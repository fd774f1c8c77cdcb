"""Which session a call belongs to when the code that makes it does not say."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_session: ContextVar[str | None] = ContextVar("tollgate_session", default=None)


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

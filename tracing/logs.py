"""Structured JSON logs: one JSON object a line, with the task and session ids on every line
logged while a task runs (set by the runtime through a context variable, so code deep in the
runtime, the providers and the tools logs them without passing them along)."""

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_task_id: ContextVar[str] = ContextVar("tollgate_task_id", default="")
_session_id: ContextVar[str] = ContextVar("tollgate_session_id", default="")


@contextmanager
def log_context(*, task_id: uuid.UUID | str) -> Iterator[None]:
    """Every line logged inside carries `task_id` (and the session, once it is bound)."""
    task_token = _task_id.set(str(task_id))
    session_token = _session_id.set("")
    try:
        yield
    finally:
        _session_id.reset(session_token)
        _task_id.reset(task_token)


def log_context_bind_session(*, session_id: uuid.UUID | str) -> None:
    """The session is known once the task is loaded, a moment after the context opens.

    Outside a task's context (a direct call in a shell or a test) nothing is bound, so the
    session cannot outlive the run in the thread's context.
    """
    if _task_id.get():
        _session_id.set(str(session_id))


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.task_id = _task_id.get()
        record.session_id = _session_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "task_id": getattr(record, "task_id", "") or _task_id.get(),
            "session_id": getattr(record, "session_id", "") or _session_id.get(),
            "process": record.process,
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)

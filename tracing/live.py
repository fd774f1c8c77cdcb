"""Live trace updates: after a step's spans commit, tell the browsers watching that task.

One message per step (never per span): the page then fetches the new rows itself, so the
message stays tiny and carries nothing a viewer might not be allowed to read.
"""

import asyncio
import threading
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def trace_group(task_id: uuid.UUID | str) -> str:
    return f"trace.{task_id}"


def trace_spans_added_publish(*, task_id: uuid.UUID | str, step_index: int | None, finished: bool) -> None:
    """Call after commit (the rows must be readable when the browser asks for them)."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "spans.added", "step": step_index, "finished": finished}

    def send() -> None:
        async_to_sync(layer.group_send)(trace_group(task_id), message)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        send()  # the usual case: a Celery worker's thread runs no event loop
    else:
        # A thread that runs an event loop cannot block on one: send from a thread of its own.
        thread = threading.Thread(target=send)
        thread.start()
        thread.join()

"""Live trace updates: after a step's spans commit, tell the browsers watching that task.

One message per step (never per span): the page then fetches the new rows itself, so the
message stays tiny and carries nothing a viewer might not be allowed to read.
"""

import uuid

from console.live import channel_groups_send


def trace_group(task_id: uuid.UUID | str) -> str:
    return f"trace.{task_id}"


def trace_spans_added_publish(*, task_id: uuid.UUID | str, step_index: int | None, finished: bool) -> None:
    """Call after commit (the rows must be readable when the browser asks for them)."""
    message = {"type": "spans.added", "step": step_index, "finished": finished}
    channel_groups_send([trace_group(task_id)], message)

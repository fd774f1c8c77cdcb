"""Loop detection guards: semantic (pgvector) and exact (repeated identical tool calls).

Both run before every model call. The semantic guard first embeds and stores the previous
model output, keyed by (task, step) so a redelivered step stores it once, then reads the
session's latest outputs back, oldest first, and asks loop_signals whether they form a loop.
Within a run, a step's checkpoint does the embedding and the store (loop_output_writer), in
the checkpoint's own statement, so the next step's guard has the records without a query.
"""

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db import connection, transaction

from agents.embeddings.base import EmbeddingError, vector_literal
from agents.embeddings.registry import embedder
from agents.guards.decision import ALLOW, Decision, Verdict
from agents.guards.loop_signals import (
    LOOKBACK,
    OutputRecord,
    loop_similarities,
    output_text,
    previous_output,
    repeated_tool_call,
    result_values,
)
from agents.guards.plan import guard_context
from agents.models import AgentVersion
from agents.runtime.state import RunState
from core import clock

logger = logging.getLogger(__name__)


def loop_settings(version: AgentVersion) -> tuple[float, int, int]:
    """The agent's (threshold, window K, repeat limit N), each falling back to the global default."""
    threshold = (
        version.loop_threshold if version.loop_threshold is not None else settings.LOOP_SIMILARITY_THRESHOLD
    )
    window = version.loop_window or settings.LOOP_WINDOW
    limit = version.repeat_limit or settings.REPEATED_TOOL_CALL_LIMIT
    return float(threshold), int(window), int(limit)


def loop_guard(state: RunState) -> Decision:
    task = state.task
    threshold, window, _ = loop_settings(state.version)
    known = guard_context(state).loop_records
    if known is not None and task.step_index > 0 and known[0] == task.step_index - 1:
        # The previous step's checkpoint embedded and stored its output already (loop_output_writer).
        model_name, records = known[1], known[2]
    else:
        found = _previous_output_records(state, count=window + LOOKBACK)
        if found is None:
            return ALLOW
        model_name, records = found
    similarities = loop_similarities(records, threshold=threshold, window=window)
    if similarities is None:
        return ALLOW
    return Decision(
        Verdict.HALT,
        guard="loop_detected",
        reason=(
            f"the last {window} model outputs each repeated an earlier one (cosine similarity above "
            f"{threshold:g}) and brought back nothing new"
        ),
        detail={"similarities": similarities, "threshold": threshold, "window": window, "model": model_name},
    )


def _previous_output_records(state: RunState, *, count: int) -> tuple[str, list[OutputRecord]] | None:
    """Embed and store the conversation's latest output (on a run's first step: the
    previous run's last step, or the session's previous task's answer); the session's
    latest `count` outputs with it. None when there is nothing to check."""
    task = state.task
    output = previous_output(task.messages)
    if output is None:
        return None
    if task.step_index > 0:
        step_index = task.step_index - 1
    elif output.message.get("tool_calls"):
        # The session's previous task stopped mid-way; its own guard embedded that output.
        return None
    else:
        step_index = -1  # the previous task's final answer, which no step of its own followed
    model = embedder()
    try:
        vector = model.embed([output_text(output.message)])[0]
    except EmbeddingError:
        # An embeddings outage must not stop every agent; the exact check still runs.
        logger.warning(
            "task %s: loop check skipped, the output could not be embedded", task.id, exc_info=True
        )
        return None
    records = output_embedding_store(
        session_id=str(task.session_id),
        task_id=str(task.id),
        step_index=step_index,
        model_name=model.name,
        vector=vector.tolist(),
        values=result_values(output),
        count=count,
    )
    return model.name, records


@dataclass
class LoopOutputWrite:
    """A step's output embedding, for its checkpoint's statement to store (only if the step
    advances; once per (task, step)) and read the session's latest outputs back with, so
    that the next step's loop guard reads nothing and the step pays no transaction for it."""

    state: RunState
    step_index: int
    model_name: str
    vector: list[float]
    values: list[str]
    count: int

    def params(self) -> dict[str, Any]:
        task = self.state.task
        return _output_params(
            session_id=str(task.session_id),
            task_id=str(task.id),
            step_index=self.step_index,
            model_name=self.model_name,
            vector=self.vector,
            values=self.values,
            count=self.count,
        )

    def stored(self, added: int, rows: list[list[Any]]) -> None:
        """What the statement returned: whether it added the row, and the latest rows
        [embedding text, result_values, id] it read before adding it."""
        records = _records(rows, added=added, vector=self.vector, values=self.values, count=self.count)
        guard_context(self.state).loop_records = (self.step_index, self.model_name, records)


# Storing one output's embedding, once per (task, step), and reading the session's latest
# outputs back in the same statement: the checkpoint's (agents/runtime/checkpoint.py), whose
# `advanced` is its conditional UPDATE of the task, so a step that does not advance (a duplicate
# delivery) stores nothing; and the guard's own at a run's first step (_OUTPUT_STORE). The
# SELECT cannot see the row its INSERT adds (_records appends it). Vectors come back after the
# LIMIT, for the few rows it keeps, in pgvector's binary form as hex (_vector): parsing their
# text, 256 numbers each, was ~4% of a step's instructions (bench/README.md, step_profile).
_OUTPUT_INSERT = """
    INSERT INTO agents_outputembedding
        (session_id, task_id, step_index, model, dimensions, embedding, result_values, created_at)
    SELECT %(oe_session)s, %(oe_task)s, %(oe_step)s, %(oe_model)s, %(oe_dims)s, %(oe_vector)s::vector,
        %(oe_values)s::jsonb, %(oe_now)s
"""
_OUTPUT_ONCE = "ON CONFLICT (task_id, step_index) DO NOTHING RETURNING id"
OUTPUT_EMBEDDING_CTE = f"{_OUTPUT_INSERT} WHERE EXISTS (SELECT FROM advanced) {_OUTPUT_ONCE}"
OUTPUT_EMBEDDING_COLUMNS = """
    (SELECT count(*) FROM embedded),
    (SELECT coalesce(
        json_agg(json_build_array(
            encode(vector_send(latest.embedding), 'hex'), latest.result_values, latest.id
        )),
        '[]'
     ) FROM (
        SELECT id, embedding, result_values FROM agents_outputembedding
        WHERE session_id = %(oe_session)s AND model = %(oe_model)s AND dimensions = %(oe_dims)s
        ORDER BY id DESC LIMIT %(oe_count)s
     ) AS latest)
"""
_OUTPUT_STORE = f"WITH embedded AS ({_OUTPUT_INSERT} {_OUTPUT_ONCE}) SELECT {OUTPUT_EMBEDDING_COLUMNS}"


def loop_output_writer(state: RunState, new_messages: list[dict[str, Any]]) -> LoopOutputWrite | None:
    """For a step the run goes on from: embed its output now, for the step's checkpoint to
    store, keeping the session's latest outputs for the next step's loop guard, which then
    reads nothing. None when the step has no output to check (the guard of the next step
    then does it all)."""
    output = previous_output(new_messages)
    if output is None:
        return None
    model = embedder()
    try:
        vector = model.embed([output_text(output.message)])[0].tolist()
    except EmbeddingError:
        return None  # the next step's guard tries again, and says so if it fails too
    _, window, _ = loop_settings(state.version)
    return LoopOutputWrite(
        state=state,
        step_index=state.task.step_index,
        model_name=model.name,
        vector=vector,
        values=result_values(output),
        count=window + LOOKBACK,
    )


def output_embedding_store(
    *,
    session_id: str,
    task_id: str,
    step_index: int,
    model_name: str,
    vector: list[float],
    values: list[str],
    count: int,
) -> list[OutputRecord]:
    """Store one output's embedding (once per (task, step)) and return the session's latest
    `count` outputs embedded by the same model, oldest first."""
    with transaction.atomic(), connection.cursor() as cursor:
        # Not waiting for the WAL flush saves the ~4 ms fsync of a commit on every step. The row
        # is derived from the checkpointed messages: a crash loses at most the last few, and
        # the check then sees a shorter history for a step or two, never a wrong one.
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(
            _OUTPUT_STORE,
            _output_params(
                session_id=session_id,
                task_id=task_id,
                step_index=step_index,
                model_name=model_name,
                vector=vector,
                values=values,
                count=count,
            ),
        )
        added, rows = cursor.fetchone()
    return _records(rows, added=added, vector=vector, values=values, count=count)


def _output_params(
    *,
    session_id: str,
    task_id: str,
    step_index: int,
    model_name: str,
    vector: list[float],
    values: list[str],
    count: int,
) -> dict[str, Any]:
    return {
        "oe_session": session_id,
        "oe_task": task_id,
        "oe_step": step_index,
        "oe_model": model_name,
        "oe_dims": len(vector),
        "oe_vector": vector_literal(vector),
        "oe_values": json.dumps(values),
        "oe_now": clock.now(),
        "oe_count": count,
    }


def _records(
    rows: Sequence[Sequence[Any]], *, added: int, vector: list[float], values: list[str], count: int
) -> list[OutputRecord]:
    """The latest `count` outputs, oldest first, from rows (embedding as hex, result_values, id)
    read in the statement that stored this one: it cannot see the row its INSERT adds, so that
    row is appended; a redelivered step's row is already stored, and among the rows."""
    records = [
        OutputRecord(vector=_vector(sent), result_values=frozenset(_values(raw)))
        for sent, raw, _ in sorted(rows, key=lambda row: row[2])
    ]
    if added:
        records.append(
            OutputRecord(vector=np.asarray(vector, dtype=np.float32), result_values=frozenset(values))
        )
    return records[-count:]


def repeated_tool_call_guard(state: RunState) -> Decision:
    _, _, limit = loop_settings(state.version)
    found = repeated_tool_call(state.task.messages, limit=limit)
    if found is None:
        return ALLOW
    name, arguments, count = found
    return Decision(
        Verdict.HALT,
        guard="repeated_tool_call",
        reason=f"{name} was called {count} times with the same arguments and got the same result",
        detail={"tool": name, "arguments": arguments, "count": count, "limit": limit},
    )


def _values(raw: object) -> list[str]:
    if isinstance(raw, str):
        raw = json.loads(raw)
    return [str(value) for value in raw] if isinstance(raw, list) else []


def _vector(sent: str) -> npt.NDArray[np.float32]:
    """A vector from pgvector's binary form (vector_send) as hex: its dimensions and an unused
    field (two 16-bit integers), then its values as big-endian float4s."""
    return np.frombuffer(bytes.fromhex(sent), dtype=">f4", offset=4).astype(np.float32)

"""Loop detection guards: semantic (pgvector) and exact (repeated identical tool calls).

Both run before every model call. The semantic guard first embeds and stores the previous
model output, keyed by (task, step) so a redelivered step stores it once, then reads the
session's latest outputs back, oldest first, and asks loop_signals whether they form a loop.
"""

import json
import logging

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db import connection, transaction

from agents.embeddings.base import EmbeddingError
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
    output = previous_output(task.messages)
    if output is None:
        return ALLOW
    if task.step_index > 0:
        step_index = task.step_index - 1
    elif output.message.get("tool_calls"):
        # The session's previous task stopped mid-way; its own guard embedded that output.
        return ALLOW
    else:
        step_index = -1  # the previous task's final answer, which no step of its own followed
    threshold, window, _ = loop_settings(state.version)
    model = embedder()
    try:
        vector = model.embed([output_text(output.message)])[0]
    except EmbeddingError:
        # An embeddings outage must not stop every agent; the exact check still runs.
        logger.warning(
            "task %s: loop check skipped, the output could not be embedded", task.id, exc_info=True
        )
        return ALLOW
    records = output_embedding_store(
        session_id=str(task.session_id),
        task_id=str(task.id),
        step_index=step_index,
        model_name=model.name,
        vector=[float(x) for x in vector],
        values=result_values(output),
        count=window + LOOKBACK,
    )
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
        detail={"similarities": similarities, "threshold": threshold, "window": window, "model": model.name},
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
    dims = len(vector)
    literal = "[" + ",".join(repr(x) for x in vector) + "]"
    with transaction.atomic(), connection.cursor() as cursor:
        # Not waiting for the WAL flush saves the ~4 ms fsync of a commit on every step. The row
        # is derived from the checkpointed messages: a crash loses at most the last few, and
        # the check then sees a shorter history for a step or two, never a wrong one.
        cursor.execute("SET LOCAL synchronous_commit = off")
        # One statement, so one round trip per step. Its SELECT cannot see the
        # row its INSERT adds, so that row is appended below; a redelivered step's row is
        # already stored, the INSERT adds nothing and the SELECT returns it.
        cursor.execute(
            """
            WITH added AS (
                INSERT INTO agents_outputembedding
                    (session_id, task_id, step_index, model, dimensions, embedding, result_values, created_at)
                VALUES (%s, %s, %s, %s, %s, %s::vector, %s::jsonb, %s)
                ON CONFLICT (task_id, step_index) DO NOTHING
                RETURNING id
            )
            SELECT NULL, NULL, (SELECT count(*) FROM added)
            UNION ALL (
                -- Vectors are turned into text after the LIMIT, for the few rows it keeps.
                SELECT latest.embedding::text, latest.result_values, latest.id FROM (
                    SELECT id, embedding, result_values FROM agents_outputembedding
                    WHERE session_id = %s AND model = %s AND dimensions = %s
                    ORDER BY id DESC LIMIT %s
                ) AS latest
            )
            """,
            [
                session_id,
                task_id,
                step_index,
                model_name,
                dims,
                literal,
                _json(values),
                clock.now(),
                session_id,
                model_name,
                dims,
                count,
            ],
        )
        rows = cursor.fetchall()
    added = next(order for text, _, order in rows if text is None)
    records = [
        OutputRecord(vector=_vector(text), result_values=frozenset(_values(raw)))
        for text, raw, _ in sorted((row for row in rows if row[0] is not None), key=lambda row: row[2])
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


def _json(values: list[str]) -> str:
    return json.dumps(values)


def _values(raw: object) -> list[str]:
    if isinstance(raw, str):
        raw = json.loads(raw)
    return [str(value) for value in raw] if isinstance(raw, list) else []


def _vector(text: str) -> npt.NDArray[np.float32]:
    return np.array(text.strip("[]").split(","), dtype=np.float32)

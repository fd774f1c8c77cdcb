"""The checkpoint: after each step, the task's state, the step and its spans in one statement
(one transaction with whatever else the step writes)."""

import json
import uuid
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from agents.guards.loops import OUTPUT_EMBEDDING_COLUMNS, OUTPUT_EMBEDDING_CTE, LoopOutputWrite
from agents.models import Step, Task
from agents.runtime.step import StepOutcome
from core.raw_rows import prepared_cursor, row_save_new
from core.transactions import after_commit
from tracing.events import trace_step_committed
from tracing.recorder import SpanBuffer, spans_insert_sql

# Raw SQL for the one statement on the hot path that the ORM cannot express: it appends the
# step's messages in the database (instead of resending the whole conversation every step),
# ends the task on its last step, completes the step's stored row (a step that asked for tools
# was stored before they ran) only if the task advanced, and returns the cancel flag, so the
# next step boundary needs no query of its own. The step's spans go in the same statement, and
# so does the output's embedding for the next step's loop guard, when the run goes on.
_ADVANCE_CTES = f"""
WITH advanced AS (
    UPDATE agents_task SET
        messages = messages || %(messages)s::jsonb,
        step_index = step_index + 1,
        input_tokens = input_tokens + %(input_tokens)s,
        output_tokens = output_tokens + %(output_tokens)s,
        cached_input_tokens = cached_input_tokens + %(cached_input_tokens)s,
        cost_usd = cost_usd + %(cost)s,
        tool_calls = tool_calls + %(tool_calls)s,
        lease_until = %(lease_until)s,
        lease_owner = CASE WHEN %(final)s THEN NULL ELSE lease_owner END,
        status = CASE WHEN %(final)s THEN %(status)s ELSE status END,
        result = CASE WHEN %(final)s THEN %(result)s ELSE result END,
        stop_reason = CASE WHEN %(final)s THEN %(stop_reason)s ELSE stop_reason END,
        finished_at = CASE WHEN %(final)s THEN %(now)s ELSE finished_at END
    WHERE id = %(id)s AND step_index = %(index)s AND status = 'running'
      AND lease_owner IS NOT DISTINCT FROM %(lease_owner)s
    RETURNING cancel_requested
), completed AS (
    UPDATE agents_step SET
        status = %(step_status)s,
        tool_results = %(tool_results)s::jsonb,
        finished_at = %(now)s,
        cost_usd = %(step_cost)s
    WHERE id = %(step_id)s AND EXISTS (SELECT FROM advanced)
), spans AS ({spans_insert_sql("%(spans)s")} WHERE EXISTS (SELECT FROM advanced)
)"""  # noqa: S608 - the spans' INSERT is a constant (tracing/recorder.py); every value is bound
_ADVANCE = f"{_ADVANCE_CTES}\nSELECT cancel_requested FROM advanced"
_ADVANCE_EMBEDDING = (
    f"{_ADVANCE_CTES}, embedded AS ({OUTPUT_EMBEDDING_CTE})\n"
    f"SELECT cancel_requested, {OUTPUT_EMBEDDING_COLUMNS} FROM advanced"
)


class StepAlreadyCommitted(Exception):
    """Another delivery of the same step committed first; this one must stop."""


def checkpoint_write(
    *,
    task: Task,
    outcome: StepOutcome,
    spans: SpanBuffer,
    now: datetime,
    lease_owner: uuid.UUID | None,
    final: dict[str, Any] | None = None,
    within: Sequence[Callable[[], None]] = (),
    loop_output: LoopOutputWrite | None = None,
) -> bool:
    """Advance the task past its current step; returns whether a cancel was requested.

    The conditional update on (id, step_index, status, lease owner) is what makes a duplicated
    or redelivered Celery message, or a run whose lease passed to another, harmless: only the
    lease holder moves a step forward, once. It renews the lease as it goes.

    `within`: writes that belong to the step (a last step's spend and root span), run in the
    same transaction once the step is known to be this run's, so that none of them pays a
    transaction of its own. Without any (and with the step's row stored already), the
    checkpoint is its one statement, atomic on its own: no BEGIN and COMMIT round trips.

    `loop_output`: the step's output embedding, stored by that statement if it advances.
    """
    index = task.step_index
    usage = outcome.response.usage
    final = final or {}
    if set(final) - {"status", "result", "stop_reason"}:
        raise ValueError(f"a checkpoint cannot end a task with {sorted(final)}")
    step = outcome.step
    step.status = Step.Status.COMPLETED
    step.tool_results = [result.as_dict() for result in outcome.tool_results]
    step.finished_at = now
    params: dict[str, Any] = {
        "id": task.pk,
        "index": index,
        "messages": json.dumps(outcome.new_messages),
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cached_input_tokens": usage.cached_input_tokens,
        "cost": outcome.cost,
        "tool_calls": len(outcome.tool_results),
        "lease_until": None if final else now + timedelta(seconds=settings.TASK_LEASE_S),
        "final": bool(final),
        "status": final.get("status"),
        "result": final.get("result", ""),
        "stop_reason": final.get("stop_reason", ""),
        "now": now,
        "lease_owner": lease_owner,
        # The stored row of a step that asked for tools; its cost_usd too: an inspector's
        # model call (a quarantine summary) has added to it since (agents/runtime/inspect.py).
        "step_id": step.pk,
        "step_status": step.status,
        "tool_results": json.dumps(step.tool_results),
        "step_cost": step.cost_usd,
        "spans": spans.rows_json(),
    }
    if loop_output is not None:
        params.update(loop_output.params())
    # Inside a caller's transaction (a test's) too, a savepoint keeps the step all or nothing.
    alone = not within and step.pk is not None and not connections[DEFAULT_DB_ALIAS].in_atomic_block
    # Prepared: planning this statement cost about as much as running it, on every step.
    with nullcontext() if alone else transaction.atomic(), prepared_cursor() as cursor:
        cursor.execute(_ADVANCE if loop_output is None else _ADVANCE_EMBEDDING, params)
        row = cursor.fetchone()
        if row is None:
            raise StepAlreadyCommitted(f"step {index} of task {task.pk} was committed by another delivery")
        written, spans.spans = spans.spans, []
        if step.pk is None:
            row_save_new(step)
        # Live trace pushes and metrics, once per step, only once the step is durable. Before
        # the `within` writes: a last step's root span registers the task's end, which a
        # watching page must hear after this step.
        after_commit(
            trace_step_committed,
            task_id=task.pk,
            agent=task.session.agent_version.agent.name,
            step_index=index,
            spans=written,
            step_seconds=(now - step.started_at).total_seconds(),
        )
        # The guards read these between steps without a query, and a last step's root span
        # (a `within` write) reports them; should the transaction fail after this, the run
        # fails and is not continued from this task object.
        task.input_tokens += usage.input_tokens
        task.output_tokens += usage.output_tokens
        task.cached_input_tokens += usage.cached_input_tokens
        task.cost_usd += outcome.cost
        task.tool_calls += len(outcome.tool_results)
        if loop_output is not None:
            loop_output.stored(row[1], row[2])
        for write in within:
            write()
    task.messages = [*task.messages, *outcome.new_messages]
    task.step_index = index + 1
    return bool(row[0])

"""Running a task: claim it, run consecutive steps, checkpoint each, stop or yield."""

import json
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from enum import Enum
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Model

from agents.guards.decision import Verdict
from agents.guards.loops import loop_output_writer
from agents.guards.parking import guard_park
from agents.guards.pipeline import guards_before_model_call
from agents.guards.plan import step_model
from agents.guards.spend import plan_settle, plan_settle_recorded, plan_spend_insert, plan_spend_record
from agents.models import Agent, AgentVersion, Memory, Session, Step, Task, Tool
from agents.runtime import messages as conversation
from agents.runtime.checkpoint import StepAlreadyCommitted, checkpoint_write
from agents.runtime.endings import task_ended
from agents.runtime.gate import ToolCallHeld, tool_gate
from agents.runtime.lease import LEASE_CLAIM, Lease, LeaseLost, lease_claim_params, lease_forget, lease_held
from agents.runtime.playback import PlaybackExhausted
from agents.runtime.state import RunState
from agents.runtime.step import ModelCallFailed, step_run
from agents.runtime.turns import run_turn
from agents.runtime.waiting import db_connection_release
from agents.tools.executor import tool_spec
from core import clock
from core.raw_rows import prepared_cursor, row_columns, row_instance, row_instance_json, row_table
from core.transactions import after_commit
from tracing.events import trace_spans_write, trace_task_finished
from tracing.logs import log_context_bind_session
from tracing.models import Trace
from tracing.recorder import SpanBuffer, model_span_id, root_span_id

logger = logging.getLogger(__name__)


class RunOutcome(Enum):
    FINISHED = "finished"  # the task ended (succeeded, failed, halted or cancelled)
    YIELDED = "yielded"  # it has more steps; run it again from the queue
    SKIPPED = "skipped"  # another worker holds it, or it is not runnable
    PARKED = "parked"  # a tool call waits for people (waiting_approval); a decision re-enqueues it
    RETRYING = "retrying"  # the run failed unexpectedly; the sweeper runs it again after a backoff


def _always() -> bool:
    return True


def task_steps_run(
    *,
    task_id: uuid.UUID,
    max_steps: int,
    max_seconds: float,
    others_waiting: Callable[[], bool] = _always,
) -> RunOutcome:
    """Claim the task and run up to `max_steps` steps (or `max_seconds`) of it.

    `max_seconds` is a share of the worker: past it, the run yields only if `others_waiting()`
    says another run waits for a worker (asked once a step from then on). Yielding costs a
    queue hop, a claim and a reload, all for nothing when no other run would take the place.

    Every way out releases what the run holds: its lease (on the row, by whoever ends or parks
    the task), its place in the heartbeat, and any cost reservation of a step it did not finish.
    An unexpected error is counted (`run_failures`): the run is tried again with a backoff, and
    after TASK_MAX_RUN_FAILURES the task fails with the error, instead of staying `running`.
    """
    with run_turn():
        return _run(task_id, max_steps=max_steps, max_seconds=max_seconds, others_waiting=others_waiting)


def _run(
    task_id: uuid.UUID, *, max_steps: int, max_seconds: float, others_waiting: Callable[[], bool]
) -> RunOutcome:
    claimed = _claim_load(task_id)
    if claimed is None:
        return RunOutcome.SKIPPED
    lease, row = claimed
    state: RunState | None = None
    try:
        state = _load(task_id, row)
        state.lease = lease
        return _steps_run(state, max_steps=max_steps, max_seconds=max_seconds, others_waiting=others_waiting)
    except LeaseLost:
        logger.warning("task %s: its lease passed to another run; this run stops", task_id)
        return RunOutcome.SKIPPED
    except Exception as error:
        logger.exception("task %s: the run failed on an unexpected error", task_id)
        return run_failure_record(task_id=task_id, lease=lease, error=error, state=state)
    finally:
        lease_forget(lease)
        if state is not None:
            plan_settle(state)  # a no-op unless a step ended between its reserve and settle


def _steps_run(
    state: RunState, *, max_steps: int, max_seconds: float, others_waiting: Callable[[], bool]
) -> RunOutcome:
    task = state.task
    if not task.messages:
        opening = conversation.initial_messages(
            task, recall=state.agent_has_memories, earlier_tasks=state.session_has_other_tasks
        )
        with prepared_cursor() as cursor:  # every task's first run: planned once per connection
            cursor.execute(
                "UPDATE agents_task SET messages = %s::jsonb, history_task_id = %s, history_messages = %s "
                "WHERE id = %s",
                [json.dumps(opening.own), opening.history_task_id, len(opening.history), task.pk],
            )
        task.messages = [*opening.history, *opening.own]
        state.history_len = len(opening.history)
        if opening.history_sent:
            state.continues = _continued_span(state, opening)
    deadline = clock.now() + timedelta(seconds=max_seconds)
    cancel_requested = task.cancel_requested
    for count in range(max_steps):
        if cancel_requested:
            _finish(
                state,
                status=Task.Status.CANCELLED,
                stop_reason="cancelled",
                stop_detail="cancelled on request",
            )
            return RunOutcome.FINISHED
        spans = SpanBuffer(trace_pk=state.trace_pk, parent_span_id=root_span_id(state.trace_id))
        decision = guards_before_model_call(state, spans)
        if decision.verdict is Verdict.HALT:
            _finish(
                state,
                spans=spans,
                status=Task.Status.HALTED,
                stop_reason=decision.guard,
                stop_detail=decision.reason,
                partial=True,
            )
            return RunOutcome.FINISHED
        if decision.verdict is Verdict.PARK:
            guard_park(state, spans, decision)
            return RunOutcome.PARKED
        model = step_model(state, decision)
        try:
            # Only a run's first step may have been stored by a delivery that died: the load
            # read its stored reply, if any, with the task.
            stored = state.stored_step if count == 0 else None
            outcome = step_run(state, spans, model=model, stored=stored)
        except ToolCallHeld as held:
            # The step is not checkpointed: on resume its stored reply is replayed and the
            # held call follows its request's decision. Its spans so far (guards, the model
            # call, calls before the held one) are written now; the replay does not write the
            # model call again, and adds the wait for the decision. Written after the park, so
            # that a watching page hears of them with the task already waiting.
            parked = tool_gate().park(task_id=task.id, hold_id=held.hold_id)
            _spans_write(state, spans)
            if parked:
                return RunOutcome.PARKED
            break  # decided meanwhile: yield, and the re-enqueued run replays the step
        except ModelCallFailed as failure:
            _finish(
                state,
                spans=spans,
                status=Task.Status.FAILED,
                stop_reason="model_error",
                stop_detail=f"the model call failed ({failure.error.kind}): {failure.error}",
                partial=True,
                spent=failure.spent,
            )
            return RunOutcome.FINISHED
        except PlaybackExhausted as exhausted:
            _finish(
                state,
                spans=spans,
                status=Task.Status.FAILED,
                stop_reason="playback_exhausted",
                stop_detail=str(exhausted),
                partial=True,
            )
            return RunOutcome.FINISHED
        final = None
        if not outcome.response.tool_calls:
            final = {
                "status": Task.Status.SUCCEEDED,
                "result": outcome.response.content,
                "stop_reason": "completed",
            }
        # Written in the checkpoint's transaction: the model call's spend (a last step's; a
        # step with tool calls recorded it with its stored reply) and the root span (whoever
        # sees the task end sees its whole trace). When this run goes on to the next step, the
        # output's embedding for that step's loop guard goes in the checkpoint's statement,
        # which then needs no transaction.
        within: list[Callable[[], None]] = []
        if plan_spend_insert(state) is not None:
            within.append(partial(plan_spend_record, state))
        goes_on = not final and count + 1 < max_steps and (clock.now() < deadline or not others_waiting())
        loop_output = loop_output_writer(state, outcome.new_messages) if goes_on else None
        if final:
            within.append(
                partial(_write_root_span, state, status=final["status"], stop_reason=final["stop_reason"])
            )
        try:
            cancel_requested = checkpoint_write(
                task=task,
                outcome=outcome,
                spans=spans,
                now=clock.now(),
                lease_owner=state.lease.token if state.lease else None,
                final=final,
                within=within,
                loop_output=loop_output,
            )
            if state.lease is not None:
                state.lease.renewed_at = clock.now()  # the checkpoint renewed it
        except StepAlreadyCommitted:
            logger.warning("task %s: a duplicate delivery is ahead of this one; stopping", task.id)
            return RunOutcome.SKIPPED
        plan_settle_recorded(state)  # Redis, once the spend is durable
        if final:
            return RunOutcome.FINISHED
        if not goes_on:
            break
    # Release the lease so the re-enqueued run can claim the task at once. It ends now rather
    # than being cleared, so that the stalled-task sweeper still sees the task if the
    # re-enqueued message is lost.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE agents_task SET lease_until = %s, lease_owner = NULL "
            "WHERE id = %s AND status = 'running' AND lease_owner IS NOT DISTINCT FROM %s",
            [clock.now(), task.pk, state.lease.token if state.lease else None],
        )
    return RunOutcome.YIELDED


def _continued_span(state: RunState, opening: conversation.Opening) -> tuple[str, str, int] | None:
    """The earlier task's last model span, which this task's first prompt continues."""
    if opening.history_task_id is None:
        return None
    earlier = (
        Task.objects.filter(pk=opening.history_task_id).values_list("trace__trace_id", "step_index").first()
    )
    if earlier is None or not earlier[0] or earlier[1] < 1:
        return None
    trace_id, steps = earlier
    system = conversation.system_messages(state.version.system_prompt)
    return trace_id, model_span_id(trace_id, steps - 1), system + opening.history_sent


def run_failure_record(
    *, task_id: uuid.UUID, lease: Lease, error: Exception, state: RunState | None
) -> RunOutcome:
    """Count a run that died on an unexpected error: try again later, or fail the task.

    The retry waits on the lease (TASK_RETRY_BASE_S doubled per failure): the stalled-task
    sweeper re-sends the task once it has passed, so the retry survives a worker restart too.
    """
    db_connection_release()  # the error may have left this thread's connection unusable
    now = clock.now()
    detail = f"{type(error).__name__}: {error}"[:2000]
    held = Task.objects.filter(pk=task_id, status=Task.Status.RUNNING, lease_owner=lease.token)
    failures = held.values_list("run_failures", flat=True).first()
    if failures is None:
        return RunOutcome.SKIPPED  # ended or taken over meanwhile
    failures += 1
    if failures < settings.TASK_MAX_RUN_FAILURES:
        delay = timedelta(seconds=settings.TASK_RETRY_BASE_S * 2 ** (failures - 1))
        held.update(run_failures=failures, lease_owner=None, lease_until=now + delay, stop_detail=detail)
        return RunOutcome.RETRYING
    final = {
        "status": Task.Status.FAILED,
        "stop_reason": "runtime_error",
        "stop_detail": f"the run failed {failures} times; last error: {detail}",
    }
    with transaction.atomic():
        ended = held.update(
            run_failures=failures, finished_at=now, lease_until=None, lease_owner=None, **final
        )
        if ended and state is not None:
            # The run stopped anywhere, perhaps in a checkpoint that did not commit: the
            # totals are read back rather than taken from the run's memory.
            state.task.refresh_from_db(fields=_ROOT_SPAN_TOTALS)
            _write_root_span(state, status=Task.Status.FAILED, stop_reason=final["stop_reason"])
    return RunOutcome.FINISHED


def _claim_load(task_id: uuid.UUID) -> tuple[Lease, list[Any]] | None:
    """Claim the task and read what its run needs, in one statement (_CLAIM_LOAD): its lease
    and row, or None if the task is not runnable or another run holds it. Hand-written (the
    ORM's compilation of the same reads cost several times their execution, once per run),
    prepared: planning it cost ~10 times running it."""
    now, token = clock.now(), uuid.uuid4()
    with prepared_cursor() as cursor:
        cursor.execute(_CLAIM_LOAD, lease_claim_params(task_id, token=token, now=now))
        row = cursor.fetchone()
    if row is None:
        return None
    return lease_held(task_id, token=token, now=now), list(row)


def _load(task_id: uuid.UUID, values: list[Any]) -> RunState:
    """The run's state from the claim's row (_CLAIM_LOAD: the task with its session, version,
    agent, trace, the version's tools and the stored reply of its next step, if a delivery that
    died stored one)."""
    task = row_instance(Task, _take(values, Task))
    session = row_instance(Session, _take(values, Session))
    version = row_instance(AgentVersion, _take(values, AgentVersion))
    version.agent = row_instance(Agent, _take(values, Agent))
    stored = _take(values, Step)
    trace_pk, trace_id, has_memories, has_other_tasks, tool_rows = values
    if trace_pk is None:
        raise Trace.DoesNotExist(f"task {task_id} has no trace")
    tools = {tool.name: tool for tool in (row_instance_json(Tool, tool_row) for tool_row in tool_rows)}
    session.agent_version = version
    task.session = session
    log_context_bind_session(session_id=task.session_id)
    own = len(task.messages)
    task.messages = conversation.task_conversation(task)
    return RunState(
        history_len=len(task.messages) - own,
        task=task,
        version=version,
        tools=tools,
        tool_specs=[tool_spec(tool) for tool in tools.values()],
        trace_pk=trace_pk,
        trace_id=trace_id,
        run_started_at=clock.now(),
        agent_has_memories=has_memories,
        session_has_other_tasks=has_other_tasks,
        stored_step=row_instance(Step, stored) if stored[0] is not None else None,
    )


def _take(values: list[Any], model: type[Model]) -> list[Any]:
    """The leading columns of `values` that are `model`'s row (row_columns), removed from it."""
    count = len(model._meta.concrete_fields)
    taken = values[:count]
    del values[:count]
    return taken


# Whether the agent has any memory at all rides along: a task's opening recalls memories
# (an embedding and a vector search) only for an agent that has some. So does whether the
# session has any other task: a session's first task has no earlier conversation to look up.
# So do the version's tools (whole rows as JSON: core/raw_rows.py row_instance_json), and the
# stored reply of the task's next step, which a redelivered run replays. That read shares the
# statement's one snapshot, taken before its UPDATE: a reply an earlier holder stores in that
# instant is missed here, and the step's own store then meets it (ON CONFLICT, agents/runtime/
# step.py) and follows it, at the price of a second model call. The claim is the statement's
# own (its RETURNING row is the task as claimed): a run's first model call used to wait for a
# round trip each for the claim, the load, the tools and the stored reply, and the first wave
# of a burst of runs pays every round trip under load (bench/README.md, "concurrency"). A task
# always has its session, version and agent (foreign keys); its trace is joined outer, so that a
# claimed task without one comes back, and its run fails, rather than passing for a task
# another run holds.
_CLAIM_LOAD = f"""
WITH t AS ({LEASE_CLAIM} RETURNING *)
SELECT {row_columns(Task, "t")}, {row_columns(Session, "s")}, {row_columns(AgentVersion, "v")},
    {row_columns(Agent, "a")}, {row_columns(Step, "st")}, tr.id, tr.trace_id,
    EXISTS (SELECT FROM {row_table(Memory)} m WHERE m.agent_id = s.agent_id),
    EXISTS (SELECT FROM {row_table(Task)} o WHERE o.session_id = t.session_id AND o.id <> t.id),
    (SELECT COALESCE(json_agg(tool ORDER BY tool.name), '[]')
     FROM {row_table(Tool)} tool
     JOIN {row_table(AgentVersion.tools.through)} vt ON vt.tool_id = tool.id
     WHERE vt.agentversion_id = v.id)
FROM t
JOIN {row_table(Session)} s ON s.id = t.session_id
JOIN {row_table(AgentVersion)} v ON v.id = s.agent_version_id
JOIN {row_table(Agent)} a ON a.id = v.agent_id
LEFT JOIN {row_table(Trace)} tr ON tr.task_id = t.id
LEFT JOIN {row_table(Step)} st ON st.task_id = t.id AND st.index = t.step_index
"""  # noqa: S608 - the names are the models' own; the values are parameters


def _finish(
    state: RunState, *, spans: SpanBuffer | None = None, spent: Decimal = Decimal(0), **final: Any
) -> None:
    """End the task without a checkpoint; `spent`: what a failed model call cost."""
    task = state.task
    if final.get("partial"):
        final["result"] = conversation.last_answer(task.messages)
    now = clock.now()
    held = Task.objects.filter(pk=task.pk, status=Task.Status.RUNNING)
    if state.lease is not None:
        # A run whose lease passed (it stalled past TASK_LEASE_S and another run took the
        # task over) must not end the task under the new holder.
        held = held.filter(lease_owner=state.lease.token)
    with transaction.atomic():
        ended = held.update(
            messages=state.own_messages(),
            finished_at=now,
            lease_until=None,
            lease_owner=None,
            cost_usd=F("cost_usd") + spent,
            **final,
        )
        if ended:
            task.cost_usd += spent
            if spans is not None:
                _spans_write(state, spans)
            _write_root_span(state, status=final["status"], stop_reason=final["stop_reason"])
    if not ended:
        raise LeaseLost(f"task {task.id}: ended or taken over before this run could end it")


def _spans_write(state: RunState, spans: SpanBuffer) -> None:
    trace_spans_write(
        spans, task_id=state.task.pk, agent=state.version.agent.name, step_index=state.task.step_index
    )


# What the root span reports of the task. The run keeps them in memory (the checkpoint adds
# each step's usage; the lease makes this run the only writer), so the span needs no read.
_ROOT_SPAN_TOTALS = ["started_at", "input_tokens", "output_tokens", "cached_input_tokens", "cost_usd"]


def _write_root_span(state: RunState, *, status: str, stop_reason: str) -> None:
    task = state.task
    spans = SpanBuffer(trace_pk=state.trace_pk, parent_span_id="")
    agent_name = state.version.agent.name
    spans.add(
        name=f"invoke_agent {agent_name}",
        kind="agent",
        span_id=root_span_id(state.trace_id),
        started_at=task.started_at or task.created_at,
        ended_at=clock.now(),
        error=status in (Task.Status.FAILED, Task.Status.HALTED),
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": agent_name,
            "gen_ai.conversation.id": str(task.session_id),
            "gen_ai.usage.input_tokens": task.input_tokens,
            "gen_ai.usage.output_tokens": task.output_tokens,
            "gen_ai.usage.cache_read.input_tokens": task.cached_input_tokens,
            "tollgate.cost_usd": str(task.cost_usd),
            "tollgate.task.status": status,
            "tollgate.stop_reason": stop_reason,
            "session.id": str(task.session_id),
            "user.id": task.session.end_user,
        },
        input={"input": task.input},
    )
    spans.flush()
    # Runs after the enclosing transaction (the final checkpoint's, or _finish's) commits.
    after_commit(
        trace_task_finished,
        task_id=task.pk,
        agent=agent_name,
        status=status,
        task_seconds=(clock.now() - (task.started_at or task.created_at)).total_seconds(),
    )
    after_commit(task_ended, task=task, status=status)

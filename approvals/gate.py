"""The approvals gate: the runtime's tool-call gate (agents/runtime/gate.py) under the risk policy.

A call at tier low runs; others become action requests that hold the call for people, or run
(or answer) what they decided. Registered by ApprovalsConfig.ready().
"""

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction

from agents.models import Session, Step, Task, Tool
from agents.providers.base import ToolCall
from agents.runtime.gate import GateAnswer, ToolCallHeld
from agents.runtime.playback import playback_of
from agents.tools.result import ToolResult
from agents.tools.schema import ToolSchemaError, arguments_errors
from approvals.live import action_request_publish
from approvals.models import ActionRequest, ExternalAction
from approvals.policy.evaluate import PolicyDecision, policy_evaluate
from approvals.policy.rules_cache import POLICY_MARKER_SQL, PolicyMarker, policy_marker_of
from approvals.services import action_request_timeout_schedule
from core import clock
from core.raw_rows import prepared_cursor, row_columns, row_instance, row_table
from core.tiers import RiskTier
from injection.selectors import taint_snapshot
from injection.taint import session_facts, unseen_addresses

Status = ActionRequest.Status


def canonical_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(arguments, sort_keys=True, separators=(",", ":")))
    return result


def action_request_hash(request: ActionRequest) -> str:
    bound = {
        "task": str(request.task_id),
        "step_index": request.step_index,
        "call_index": request.call_index,
        "call_id": request.call_id,
        "tool": request.tool_name,
        "arguments": request.arguments,
        "version": request.version,
        "policy_version": request.policy_version,
        "rule": request.rule_id,
    }
    return hashlib.sha256(json.dumps(bound, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def action_gate(
    *,
    task: Task,
    agent_name: str,
    tool: Tool,
    step_index: int,
    call_index: int,
    call: ToolCall,
    may_be_known: bool = True,
) -> GateAnswer:
    """The policy's answer on one tool call. `may_be_known` is false for a step whose model
    reply this run just received: no request can exist for it yet, so none is looked up (a
    racing duplicate delivery is still caught by the unique constraint below)."""
    if playback_of(task).serves(tool.name):
        # Its result is recorded (a replay, an eval run): decided as live, but nobody is asked.
        return recorded_call_gate(
            task=task,
            agent_name=agent_name,
            tool=tool,
            step_index=step_index,
            call_index=call_index,
            call=call,
        )
    if may_be_known:
        existing = ActionRequest.objects.filter(
            task=task, step_index=step_index, call_index=call_index
        ).first()
        if existing is not None:
            return _follow_with_verdict(existing)
    arguments = _call_arguments(tool, call)
    if arguments is None:
        # The executor refuses it with a message for the model; no person needs to see it.
        return GateAnswer()
    judged = session_call_decide(task=task, agent_name=agent_name, tool=tool, arguments=arguments)
    decision = judged.decision
    if decision.tier is RiskTier.LOW:
        return GateAnswer(verdict=policy_verdict(decision))
    try:
        request = action_request_open(
            task=task,
            agent_name=agent_name,
            tool_name=tool.name,
            step_index=step_index,
            call_index=call_index,
            call_id=call.id,
            arguments=arguments,
            reasoning=_reasoning(task, step_index),
            decision=decision,
            taint=judged.taint(),
        )
    except IntegrityError:
        # A duplicate delivery of this step created it first: follow that one.
        request = ActionRequest.objects.get(task=task, step_index=step_index, call_index=call_index)
    return _follow_with_verdict(request)


@dataclass(frozen=True)
class SessionCall:
    """The policy's decision on one call, and the session's taint it was decided with."""

    decision: PolicyDecision
    session: Session
    unseen: list[str]

    def taint(self) -> dict[str, Any] | None:
        """Why the session is suspect, for the request the call opens; None if it is clean."""
        if not self.session.tainted:
            return None
        return taint_snapshot(self.session, unseen_addresses=self.unseen)


@dataclass(frozen=True)
class CallReads:
    """What deciding one gate API call reads, read fresh in one statement (call_reads): the
    tool by name (None if no tool has it), the session's taint facts (None if the session is
    gone), the policy's version marker, and whether the caller already asked under the call's
    idempotency key (then nothing is decided: the ask is answered with that action)."""

    tool: Tool | None
    session: Session | None
    policy_marker: PolicyMarker
    key_taken: bool


def call_reads(
    *, tool_name: str, session_id: uuid.UUID, owner_id: int, idempotency_key: str | None
) -> CallReads:
    """The tool, the session's taint, the policy's marker and whether `owner_id` used
    `idempotency_key` (None: no key) in one prepared statement: one round trip instead of four,
    each of which cost the gate API's allow answer about as much CPU in its client as in
    PostgreSQL (bench/README.md, gate_cpu)."""
    with prepared_cursor() as cursor:
        cursor.execute(_CALL_READS, [tool_name, session_id, owner_id, idempotency_key])
        row = cursor.fetchone()
    tool_values = row[:_TOOL_WIDTH]
    *session_values, keyed = row[_TOOL_WIDTH:]
    session, marker = _session_reads_of(session_id, session_values)
    return CallReads(
        tool=row_instance(Tool, tool_values) if tool_values[_TOOL_PK] is not None else None,
        session=session,
        policy_marker=marker,
        key_taken=keyed is not None,
    )


def session_call_decide(
    *, task: Task, agent_name: str, tool: Tool, arguments: dict[str, Any], reads: CallReads | None = None
) -> SessionCall:
    """The policy on one call in its session, whoever runs it (this runtime, or an agent that
    runs elsewhere through the gate API): the session's taint and the call's unseen addresses
    read fresh (docs/injection.md); `reads`, if the caller just read them (the taint and the
    policy's marker)."""
    if reads is None:
        session, marker = _session_reads(task.session_id)
    else:
        session, marker = reads.session, reads.policy_marker
    if session is None:
        raise Session.DoesNotExist(f"session {task.session_id}")
    unseen = unseen_addresses(task, arguments)
    decision = _call_decision(
        task=task,
        agent_name=agent_name,
        tool=tool,
        arguments=arguments,
        session=session,
        unseen=unseen,
        policy_marker=marker,
    )
    return SessionCall(decision=decision, session=session, unseen=unseen)


def _session_reads(session_id: uuid.UUID) -> tuple[Session | None, PolicyMarker]:
    """What call_reads reads but the tool and the key, for a caller that holds its tool (the
    runtime: a run loads its version's tools once): the session's taint (None if the session is
    gone) and the policy's marker, in one prepared statement instead of one each (bench/README.md,
    step_profile)."""
    with prepared_cursor() as cursor:
        cursor.execute(_SESSION_READS, [session_id])
        row = cursor.fetchone()
    return _session_reads_of(session_id, row)


def _session_reads_of(session_id: uuid.UUID, values: Sequence[Any]) -> tuple[Session | None, PolicyMarker]:
    """The session's taint (None if the session is gone) and the policy's marker, from the
    columns _SESSION_COLUMNS lists."""
    marker_id, marker_number, session_found, *taint = values
    session = _taint_session(session_id, taint) if session_found is not None else None
    return session, policy_marker_of((marker_id, marker_number))


def _taint_session(session_id: uuid.UUID, taint: Sequence[Any]) -> Session:
    return Session.from_db(connection.alias, ["id", *_TAINT_FIELDS], [session_id, *taint])


_TAINT_FIELDS = ("tainted", "suspicious", "taint_sources")
_TOOL_WIDTH = len(Tool._meta.concrete_fields)
_TOOL_PK = Tool._meta.concrete_fields.index(Tool._meta.pk)
# The policy's marker, then the session's taint (its id NULL if it is gone). Exactly one row:
# each join finds at most one (a unique name, a primary key, LIMIT 1, the owner's unique key,
# whose partial index the equality on the key lets PostgreSQL use; a NULL key equals nothing).
_SESSION_COLUMNS = f"marker.id, marker.number, s.id, {', '.join(f's.{field}' for field in _TAINT_FIELDS)}"
_SESSION_JOINS = f"""LEFT JOIN LATERAL ({POLICY_MARKER_SQL}) AS marker ON true
LEFT JOIN {row_table(Session)} s ON s.id = %s"""
_CALL_READS = f"""SELECT {row_columns(Tool, "t")}, {_SESSION_COLUMNS}, a.id
FROM (SELECT 1) AS one
LEFT JOIN {row_table(Tool)} t ON t.name = %s
{_SESSION_JOINS}
LEFT JOIN {row_table(ExternalAction)} a ON a.owner_id = %s AND a.idempotency_key = %s
"""  # noqa: S608 - table and column names from the models; the values are bound
_SESSION_READS = f"SELECT {_SESSION_COLUMNS}\nFROM (SELECT 1) AS one\n{_SESSION_JOINS}\n"


# What the policy does with a call at each tier: the verdict's `decision`.
TIER_DECISIONS = {
    RiskTier.LOW: "allow",
    RiskTier.MEDIUM: "autosend",
    RiskTier.HIGH: "approval",
    RiskTier.CRITICAL: "deny",
}


def policy_verdict(decision: PolicyDecision) -> dict[str, Any]:
    """The GateAnswer verdict (agents/runtime/gate.py) of a policy decision."""
    return {
        "tier": decision.tier.value,
        "rule": decision.rule_id,
        "decision": TIER_DECISIONS[decision.tier],
        "policy_version": decision.policy_version,
    }


def request_verdict(request: ActionRequest) -> dict[str, Any]:
    """The verdict the policy gave when it opened `request`."""
    return {
        "tier": request.tier,
        # A deleted rule leaves its id in the snapshot the request kept.
        "rule": request.rule_id if request.rule_id is not None else (request.rule_snapshot or {}).get("id"),
        "decision": TIER_DECISIONS[RiskTier(request.tier)],
        "policy_version": request.policy_version,
    }


def _follow_with_verdict(request: ActionRequest) -> GateAnswer:
    return replace(_follow(request), verdict=request_verdict(request))


def _call_arguments(tool: Tool, call: ToolCall) -> dict[str, Any] | None:
    """The call's arguments if the tool's schema takes them; None if the executor will refuse them."""
    arguments = call.arguments
    if arguments is None or not isinstance(arguments, dict) or arguments_invalid(tool, arguments):
        return None
    return arguments


def _call_decision(
    *,
    task: Task,
    agent_name: str,
    tool: Tool,
    arguments: dict[str, Any],
    session: Session,
    unseen: list[str],
    policy_marker: PolicyMarker | None = None,
) -> PolicyDecision:
    """The policy on one call in its session (taint, unseen addresses), under the policy
    version the task's playback names, if any (a replay's), else the one in force."""
    return policy_evaluate(
        tool=tool.name,
        agent=agent_name,
        args=arguments,
        default_tier=tool.risk_tier,
        session=session_facts(session),
        unseen_addresses=unseen,
        policy_version=playback_of(task).policy_version,
        policy_marker=policy_marker,
    )


# A recorded call that people refused: answered with the recorded refusal, as it was live.
RECORDED_REFUSALS = frozenset({Status.REJECTED, Status.EXPIRED, Status.CANCELLED})


def recorded_call_gate(
    *, task: Task, agent_name: str, tool: Tool, step_index: int, call_index: int, call: ToolCall
) -> GateAnswer:
    """A call whose result is recorded (Task.playback): the policy decides exactly as live (tier,
    rule, conditions, taint, unseen addresses), under the version the playback names, but no
    request is opened and nothing waits. A critical call is refused as live; a call the
    recording says people refused (rejected, expired, cancelled) gets its recorded refusal, if
    the policy still holds it for people; any other goes on to its recorded result."""
    arguments = _call_arguments(tool, call)
    if arguments is None:
        return GateAnswer()
    decision = session_call_decide(task=task, agent_name=agent_name, tool=tool, arguments=arguments).decision
    verdict = policy_verdict(decision)
    fixture = playback_of(task).fixture(
        step=step_index, call=call_index, tool_name=tool.name, arguments=arguments
    )
    recorded = str((fixture or {}).get("decision") or "")
    if decision.tier is RiskTier.CRITICAL:
        if fixture is not None and recorded == "person_must_act":
            result = ToolResult.from_dict(fixture["result"])  # what the model was told then
        else:
            result = critical_refusal(tool_name=tool.name, request_id=None)
        return GateAnswer(result=result, declined="person_must_act", verdict=verdict)
    if fixture is not None and decision.tier is not RiskTier.LOW and recorded in RECORDED_REFUSALS:
        return GateAnswer(result=ToolResult.from_dict(fixture["result"]), declined=recorded, verdict=verdict)
    return GateAnswer(verdict=verdict)


def action_request_open(
    *,
    task: Task,
    agent_name: str,
    tool_name: str,
    step_index: int,
    call_index: int,
    call_id: str,
    arguments: dict[str, Any],
    reasoning: str,
    decision: PolicyDecision,
    taint: dict[str, Any] | None = None,
) -> ActionRequest:
    """A pending request for one call the policy held (tier above low), shown in the queue and
    with its clock started; `taint` is why its session is suspect (docs/injection.md). Raises
    IntegrityError if (task, step_index, call_index) has one."""
    now = clock.now()
    request = _new_request(
        task=task,
        agent_name=agent_name,
        tool_name=tool_name,
        step_index=step_index,
        call_index=call_index,
        call_id=call_id,
        arguments=arguments,
        reasoning=reasoning,
        decision=decision,
        now=now,
        taint=taint,
        approvals_required=decision.approvals_required if decision.tier is RiskTier.HIGH else 1,
        autosend_at=now + timedelta(seconds=decision.delay_s) if decision.tier is RiskTier.MEDIUM else None,
        expires_at=(
            now + timedelta(seconds=decision.expiry_s)
            if decision.tier is RiskTier.HIGH and decision.expiry_s is not None
            else None
        ),
        sla_at=now + timedelta(seconds=decision.sla_s) if decision.sla_s is not None else None,
    )
    with transaction.atomic():
        request.save(force_insert=True)
        action_request_publish(request_id=request.id, event="created")
        action_request_timeout_schedule(request=request)
    return request


def _new_request(
    *,
    task: Task,
    agent_name: str,
    tool_name: str,
    step_index: int,
    call_index: int,
    call_id: str,
    arguments: dict[str, Any],
    reasoning: str,
    decision: PolicyDecision,
    now: datetime,
    **fields: Any,
) -> ActionRequest:
    """An unsaved request for one call as the policy decided it, with its hash; `fields` are
    what differs between a held call and one whose outcome was lost."""
    request = ActionRequest(
        task=task,
        step_index=step_index,
        call_index=call_index,
        call_id=call_id,
        tool_name=tool_name,
        agent_name=agent_name,
        arguments=canonical_arguments(arguments),
        original_arguments=canonical_arguments(arguments),
        reasoning=reasoning,
        tier=decision.tier,
        rule=decision.rule,
        rule_snapshot=_rule_snapshot(decision),
        policy_version=decision.policy_version,
        reviewer_group=decision.reviewer_group,
        created_at=now,
        **fields,
    )
    request.request_hash = action_request_hash(request)
    return request


def _follow(request: ActionRequest) -> GateAnswer:
    # First: a call that was sent is answered by what a person recorded, whatever its tier now.
    if request.status == Status.OUTCOME_UNKNOWN:
        raise ToolCallHeld(request.id)  # until a person records what happened
    if request.status == Status.NOT_DONE:
        return GateAnswer(result=not_done_result(request))
    if request.tier == RiskTier.CRITICAL:
        return GateAnswer(result=critical_result(request), declined="person_must_act")
    if request.status == Status.PENDING:
        raise ToolCallHeld(request.id)
    if request.status == Status.APPROVED:
        started = ActionRequest.objects.filter(pk=request.pk, status=Status.APPROVED).update(
            status=Status.EXECUTING, execution_started_at=clock.now()
        )
        request.refresh_from_db()
        if started:
            return replace(_run_as_decided(request), waited=_waited(request))
        if request.status == Status.EXECUTING:
            return _run_as_decided(request)
    if request.status == Status.EXECUTING:
        # The worker that started it died mid-call (only the lease holder runs a task): run it
        # again with the same idempotency key, which the tool deduplicates.
        return _run_as_decided(request)
    if request.status in (Status.EXECUTED, Status.FAILED):
        return GateAnswer(result=_with_edit_note(request, _stored_result(request)))
    return GateAnswer(result=refusal_result(request), declined=request.status, waited=_waited(request))


def _run_as_decided(request: ActionRequest) -> GateAnswer:
    return GateAnswer(arguments=request.arguments, idempotency_key=request.idempotency_key, ticket=request)


def _waited(request: ActionRequest) -> tuple[datetime, datetime] | None:
    """From the request's creation to its decision: how long the call waited for people."""
    return (request.created_at, request.decided_at) if request.decided_at is not None else None


def action_gate_record(*, answer: GateAnswer, result: ToolResult) -> ToolResult:
    """After an approved request's tool call: executing → executed | failed, and tell the model."""
    request = answer.ticket
    if not isinstance(request, ActionRequest):
        return result
    status = Status.EXECUTED if result.status == "success" else Status.FAILED
    with transaction.atomic():
        done = ActionRequest.objects.filter(pk=request.pk, status=Status.EXECUTING).update(
            status=status, result=result.as_dict(), executed_at=clock.now()
        )
        if done:
            action_request_publish(request_id=request.pk, event="changed")
    return _with_edit_note(request, result)


def action_outcome_unknown(
    *,
    task: Task,
    agent_name: str,
    tool: Tool,
    step_index: int,
    call_index: int,
    call: ToolCall,
    answer: GateAnswer,
    sent: dict[str, Any],
) -> ToolResult:
    """A call sent at most once lost its answer with its worker: its request (the approved one,
    or a new one for a call that needed no approval) goes to outcome_unknown and waits in the
    queue, showing what was sent, until a person records what happened."""
    request = answer.ticket if isinstance(answer.ticket, ActionRequest) else None
    with transaction.atomic():
        if request is not None:
            moved = ActionRequest.objects.filter(pk=request.pk, status=Status.EXECUTING).update(
                status=Status.OUTCOME_UNKNOWN, sent_request=sent
            )
            event = "changed"
        else:
            request, moved = _outcome_unknown_request(
                task=task,
                agent_name=agent_name,
                tool=tool,
                step_index=step_index,
                call_index=call_index,
                call=call,
                sent=sent,
            )
            event = "created"
        if moved:
            action_request_publish(request_id=request.pk, event=event)
    request.refresh_from_db()
    followed = _follow(request)  # raises ToolCallHeld while the outcome is unknown
    if followed.result is None:
        raise RuntimeError(f"action request {request.id} is {request.status} after its outcome was lost")
    return followed.result


def _outcome_unknown_request(
    *,
    task: Task,
    agent_name: str,
    tool: Tool,
    step_index: int,
    call_index: int,
    call: ToolCall,
    sent: dict[str, Any],
) -> tuple[ActionRequest, bool]:
    arguments = canonical_arguments(sent.get("arguments") or {})
    decision = policy_evaluate(tool=tool.name, agent=agent_name, args=arguments, default_tier=tool.risk_tier)
    request = _new_request(
        task=task,
        agent_name=agent_name,
        tool_name=tool.name,
        step_index=step_index,
        call_index=call_index,
        call_id=call.id,
        arguments=arguments,
        reasoning=_reasoning(task, step_index),
        decision=decision,
        now=clock.now(),
        status=Status.OUTCOME_UNKNOWN,
        sent_request=sent,
    )
    try:
        with transaction.atomic():
            request.save(force_insert=True)
    except IntegrityError:
        return ActionRequest.objects.get(task=task, step_index=step_index, call_index=call_index), False
    return request, True


def action_park(*, task_id: uuid.UUID, hold_id: uuid.UUID) -> bool:
    """Running → waiting_approval, unless the request was decided meanwhile (then run on).

    Race: a reviewer deciding between the request's creation and this park would find the
    task still running and not resume it; both sides lock the request's row, so either the
    decision sees the task waiting, or this sees the decision.
    """
    with transaction.atomic():
        request = ActionRequest.objects.select_for_update().get(pk=hold_id)
        if request.status not in ActionRequest.QUEUE_STATUSES:
            return False
        parked = Task.objects.filter(pk=task_id, status=Task.Status.RUNNING).update(
            status=Task.Status.WAITING_APPROVAL, lease_until=None, lease_owner=None
        )
    return bool(parked)


def critical_result(request: ActionRequest) -> ToolResult:
    return critical_refusal(tool_name=request.tool_name, request_id=str(request.id))


def critical_refusal(*, tool_name: str, request_id: str | None) -> ToolResult:
    """What the model is told of a critical call; `request_id`: the request reviewers were
    shown (None in a replay, which shows nobody)."""
    shown = f"; it has been shown to reviewers as action request {request_id}" if request_id else ""
    return ToolResult.error(
        "permanent",
        f"{tool_name} is a critical action: an agent may never run it. A person must act "
        f"outside Tollgate{shown}. "
        "Do not call it again: tell the user a person will handle it, or carry on without it.",
        data={
            **({"action_request": request_id} if request_id else {}),
            "tier": RiskTier.CRITICAL.value,
            "decision": "person_must_act",
        },
    )


def refusal_result(request: ActionRequest) -> ToolResult:
    who = request.decided_by.get_username() if request.decided_by else "nobody"
    if request.status == Status.REJECTED:
        message = f"A reviewer ({who}) rejected this action."
        if request.decision_comment:
            message += f" Their feedback: {request.decision_comment}"
    elif request.status == Status.EXPIRED:
        message = "No reviewer approved this action before it expired, so it counts as rejected."
    else:
        message = f"This action was cancelled by {who} and did not run."
        if request.decision_comment:
            message += f" Note: {request.decision_comment}"
    return ToolResult.error(
        "permanent",
        message + " Do not retry it unchanged.",
        data={
            "action_request": str(request.id),
            "decision": request.status,
            "feedback": request.decision_comment,
        },
    )


def not_done_result(request: ActionRequest) -> ToolResult:
    who = request.outcome_by.get_username() if request.outcome_by else "a person"
    message = f"The outcome of this call was unknown; {who} checked and recorded that it did not happen."
    if request.outcome_note:
        message += f" Their note: {request.outcome_note}"
    return ToolResult.error(
        "permanent",
        message,
        data={"action_request": str(request.id), "outcome": "not_done", "note": request.outcome_note},
    )


def _with_edit_note(request: ActionRequest, result: ToolResult) -> ToolResult:
    if request.arguments == request.original_arguments:
        return result
    note = (
        f"A reviewer edited the arguments before approving; the action ran with "
        f"{json.dumps(request.arguments, sort_keys=True)} instead of "
        f"{json.dumps(request.original_arguments, sort_keys=True)}."
    )
    return replace(result, message=f"{note} {result.message}".strip())


def _stored_result(request: ActionRequest) -> ToolResult:
    stored = dict(request.result or {})
    if not stored:
        return ToolResult.error("transient", "the action's result was not recorded")
    return ToolResult.from_dict(stored)


def arguments_invalid(tool: Tool, arguments: dict[str, Any]) -> bool:
    try:
        return bool(arguments_errors(tool.parameters, arguments))
    except ToolSchemaError:
        return True


def _reasoning(task: Task, step_index: int) -> str:
    response = Step.objects.filter(task=task, index=step_index).values_list("response", flat=True).first()
    return str((response or {}).get("content") or "")


def _rule_snapshot(decision: PolicyDecision) -> dict[str, Any] | None:
    """The deciding rule as it was, and why any condition failed (reviewers see it)."""
    from approvals.policy.services import rule_as_dict

    snapshot = rule_as_dict(decision.rule) if decision.rule is not None else {}
    if decision.errors:
        snapshot["condition_errors"] = decision.errors
    return snapshot or None


class ApprovalGate:
    """The runtime's ToolGate (agents/runtime/gate.py), answered by the risk policy and the
    action requests: a held call's hold id is its action request's id."""

    check = staticmethod(action_gate)
    record = staticmethod(action_gate_record)
    outcome_unknown = staticmethod(action_outcome_unknown)
    park = staticmethod(action_park)

"""Asking the gate: one external tool call under the same policy as the runtime's calls."""

import hashlib
import json
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction

from agents.models import Session, Task, Tool
from agents.services.external import external_index_next, external_tool_name_check, external_tool_or_new
from agents.tools.egress import egress_url_refusal
from approvals.external.answer import external_action_decision
from approvals.external.keyed import external_action_keyed
from approvals.external.sessions import gate_task_for, gate_task_forget
from approvals.external.spans import gate_span, gate_span_write
from approvals.gate import (
    SessionCall,
    action_request_open,
    arguments_invalid,
    call_reads,
    canonical_arguments,
    session_call_decide,
)
from approvals.models import ExternalAction
from core import clock
from core.errors import Conflict, Invalid
from core.raw_rows import prepared_cursor, row_insert
from core.tiers import RiskTier

MAX_REASONING_CHARS = 8000
MAX_CONTEXT_BYTES = 16_384


@dataclass(frozen=True)
class ActionAsk:
    """What an external caller sends: its agent and session, the call, and why."""

    agent: str
    session: str
    tool: str
    arguments: dict[str, Any]
    reasoning: str = ""
    idempotency_key: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    callback_url: str = ""

    def fingerprint(self) -> str:
        bound = {"agent": self.agent, "session": self.session, "tool": self.tool, "arguments": self.arguments}
        return hashlib.sha256(json.dumps(bound, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def external_action_submit(*, owner: User, ask: ActionAsk) -> tuple[ExternalAction, bool]:
    """The action for `ask`, decided at once (low, critical) or held for people; (action, created).

    The same (owner, idempotency_key) with the same call returns the first action, never a
    second; with another call it is a Conflict. The call's one read says whether the key is
    taken: a repeat is answered from that action without deciding or writing anything, so it
    costs no more than a new call. The unique constraint still decides between two calls that
    both found the key free: the second's INSERT fails (an allowed action's touches nothing
    instead, and reports it), and only then is the first action read. A repeat that this server
    would now refuse (a tool's schema changed since) still gets its first action.
    """
    try:
        _validate(ask)
        task, remembered = gate_task_for(owner=owner, agent_name=ask.agent, session_id=ask.session)
        external_tool_name_check(ask.tool)
        reads = call_reads(
            tool_name=ask.tool,
            session_id=task.session_id,
            owner_id=owner.pk,
            idempotency_key=ask.idempotency_key,
        )
        if reads.key_taken:
            replayed = _replayed(owner=owner, ask=ask)
            if replayed is not None:
                return replayed, False
            # Deleted since the read (with its session or owner): the key is free again.
        tool = external_tool_or_new(ask.tool, reads.tool)
        if arguments_invalid(tool, ask.arguments):
            raise Invalid(f"the arguments do not match {tool.name}'s parameters schema", field="arguments")
    except Invalid:
        replayed = _replayed(owner=owner, ask=ask)
        if replayed is None:
            raise
        return replayed, False
    started = clock.now()
    try:
        judged = session_call_decide(
            task=task, agent_name=ask.agent, tool=tool, arguments=ask.arguments, reads=reads
        )
        return _create(owner=owner, ask=ask, task=task, tool=tool, judged=judged, started=started), True
    except IntegrityError:
        # Another call with this key committed first: its action, if it was this call.
        winner = _replayed(owner=owner, ask=ask)
        if winner is not None:
            return winner, False
        if not remembered:
            raise
    except Session.DoesNotExist:
        if not remembered:
            raise
    # The remembered task is gone (deleted with its session or owner): look it up again.
    gate_task_forget(owner=owner, agent_name=ask.agent, session_id=ask.session)
    task, _ = gate_task_for(owner=owner, agent_name=ask.agent, session_id=ask.session)
    judged = session_call_decide(task=task, agent_name=ask.agent, tool=tool, arguments=ask.arguments)
    return _create(owner=owner, ask=ask, task=task, tool=tool, judged=judged, started=started), True


def _create(
    *, owner: User, ask: ActionAsk, task: Task, tool: Tool, judged: SessionCall, started: datetime
) -> ExternalAction:
    """The new action, its request if the policy holds it (with the session's taint, as the
    runtime's requests keep it), and its span, all or nothing; raises IntegrityError if its
    idempotency key is taken."""
    decision = judged.decision
    action = ExternalAction(
        owner=owner,
        task=task,
        tool_name=tool.name,
        arguments=canonical_arguments(ask.arguments),
        tier=decision.tier,
        context=ask.context,
        idempotency_key=ask.idempotency_key,
        fingerprint=ask.fingerprint(),
        callback_url=ask.callback_url,
        created_at=started,
    )
    if decision.tier is RiskTier.LOW:
        _insert_allowed(action, started=started)
        return action
    with transaction.atomic():
        action.save(force_insert=True)
        action.request = action_request_open(
            task=task,
            agent_name=ask.agent,
            tool_name=tool.name,
            step_index=external_index_next(task),
            call_index=0,
            call_id=str(action.id),
            arguments=ask.arguments,
            reasoning=ask.reasoning,
            decision=decision,
            taint=judged.taint(),
        )
        action.save(update_fields=["request"])
        gate_span_write(
            action=action, decision=external_action_decision(action), started_at=started, ended_at=clock.now()
        )
    return action  # its task, session, agent and request are loaded: answer from them


def _insert_allowed(action: ExternalAction, *, started: datetime) -> None:
    """An allowed action and its span in one statement: atomic without a transaction's BEGIN
    and COMMIT round trips, and without the ORM compiling the INSERT (~2 ms of CPU of the
    allow answer's ~10, bench/gate_cpu.py); raises IntegrityError if its idempotency key is taken.

    Prepared (core/raw_rows.py prepared_cursor): PostgreSQL parses and plans it once per
    connection, and its ~20 values are bound rather than quoted into the text. A taken key
    touches nothing (the span is written only with its action) instead of failing: psycopg
    forgets, without deallocating it, a prepared statement whose first run on a connection
    fails, so a caller could otherwise pile statements up on a connection at will. The one
    failure left, a remembered task deleted since (its foreign key, checked at commit), is not
    the caller's to repeat: the task is looked up again and the next run succeeds."""
    insert_action, action_params = row_insert(action, on_conflict=_KEY_ONCE)
    span = gate_span(action=action, decision="allow", started_at=started, ended_at=clock.now())
    insert_span, span_params = span.insert_statement()
    # Inside a transaction (a caller's, a test's) a failed INSERT would abort it: a savepoint
    # keeps it usable for the lookup again that follows.
    within = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with within, prepared_cursor() as cursor:
        cursor.execute(
            f"WITH action AS ({insert_action} RETURNING 1) {insert_span} WHERE EXISTS (SELECT FROM action)",
            [*action_params, *span_params],
        )
        written = cursor.rowcount
    if written == 0:
        raise IntegrityError(f"idempotency key {action.idempotency_key!r} is taken")
    action._state.adding = False


# The unique index on (owner, idempotency_key) is partial: the conflict names its predicate.
_KEY_ONCE = "ON CONFLICT (owner_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"


def _replayed(*, owner: User, ask: ActionAsk) -> ExternalAction | None:
    """The action first asked under `ask`'s key if it was this call; None if none was (or no key)."""
    if ask.idempotency_key is None:
        return None
    existing = external_action_keyed(owner_id=owner.pk, idempotency_key=ask.idempotency_key)
    if existing is None:
        return None
    if existing.fingerprint != ask.fingerprint():
        raise Conflict(
            f"idempotency key {ask.idempotency_key!r} was already used for another call (agent, "
            f"session, tool or arguments): action {existing.id}; send a new key for a new call",
            field="idempotency_key",
        )
    return existing


def _validate(ask: ActionAsk) -> None:
    if len(ask.reasoning) > MAX_REASONING_CHARS:
        raise Invalid(f"reasoning must be at most {MAX_REASONING_CHARS} characters", field="reasoning")
    if len(json.dumps(ask.context)) > MAX_CONTEXT_BYTES:
        raise Invalid(f"context must be at most {MAX_CONTEXT_BYTES} bytes of JSON", field="context")
    if ask.callback_url:
        callback_url_check(ask.callback_url)


def callback_url_check(url: str) -> None:
    """A decision callback goes only where a tool may: http(s), and past the egress guard."""
    if not settings.GATE_CALLBACK_SECRET:
        raise Invalid("this server signs no callbacks (GATE_CALLBACK_SECRET is unset)", field="callback_url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise Invalid(f"callback_url is not a URL: {exc}", field="callback_url") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("callback_url must be an http or https URL", field="callback_url")
    refusal = egress_url_refusal(url)
    if refusal is not None:
        raise Invalid(f"callback_url is refused: {refusal.message}", field="callback_url")

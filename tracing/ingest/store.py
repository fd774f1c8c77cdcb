"""Ingested spans into sessions and traces: one session per conversation, as the gate API's.

Spans are grouped by `gen_ai.conversation.id` (else by their OpenTelemetry trace), each group
into the external session of that id (agents.services.external), so external agents show in
the same waterfall, cost pages, metrics and alert rules. A retried export inserts nothing
twice, and the session's totals count only the spans this request inserted. A tool span's
output from an untrusted tool taints the session as a gate API report does; one export sends at
most INJECTION_CLASSIFIER_MAX_PER_EXPORT new outputs to the external classifier, and waits for
it at most INJECTION_CLASSIFIER_EXPORT_DEADLINE_S in all.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import DecimalField, F, Value
from django.db.models.functions import Cast, Least

from agents.guards.ratelimits import rate_take
from agents.models import Task
from agents.services.external import (
    MAX_SESSION_ID_CHARS,
    external_task_for,
    external_tasks_of_conversations,
    external_tools_trust,
)
from injection.reported import (
    ClassifierBudget,
    ReportedOutput,
    ReportedScan,
    reported_output_taint,
    reported_outputs_scan,
    reported_span_attributes,
)
from tracing.ingest.decode import OtlpSpan
from tracing.ingest.mapping import MappedSpan, agent_name, span_map, tool_of
from tracing.models import Span
from tracing.recorder import spans_insert_new

CONVERSATION_ATTRIBUTES = ("gen_ai.conversation.id", "session.id")


@dataclass(frozen=True)
class Ingested:
    inserted: int  # new spans stored
    rejected: int  # spans not stored, of conversations past the export's cap on new ones
    conversations_refused: int
    retry_after_s: float  # > 0: conversations past the owner's rate were left for a retry


def otlp_ingest(*, owner: User, spans: list[OtlpSpan]) -> Ingested:
    """Store the spans of the conversations the caller has, and of the first
    OTLP_MAX_NEW_CONVERSATIONS_PER_EXPORT new ones its rate admits."""
    inserted = rejected = refused = opened = 0
    retry_after_s = 0.0
    budget = ClassifierBudget.per_export()
    groups = _conversations(spans)
    tasks = external_tasks_of_conversations(owner=owner, session_ids={session_id for _, session_id in groups})
    for (agent, conversation), group in groups.items():
        task = tasks.get(conversation)
        if task is None:
            if opened >= settings.OTLP_MAX_NEW_CONVERSATIONS_PER_EXPORT:
                rejected += len(group)
                refused += 1
                continue
            retry_after_s = retry_after_s or _new_conversation_wait(owner)
            if retry_after_s:
                continue
            task = external_task_for(owner=owner, agent_name=agent, session_id=conversation)
            tasks[conversation] = task
            opened += 1
        inserted += _group_store(task, group, budget)
    return Ingested(
        inserted=inserted, rejected=rejected, conversations_refused=refused, retry_after_s=retry_after_s
    )


def _new_conversation_wait(owner: User) -> float:
    """0 when the owner may open one more conversation now, else the seconds until it may. Not
    metered when Redis is unreachable: the export's own cap still bounds its work."""
    try:
        return rate_take(
            name=f"otlp-conversations:{owner.pk}", per_minute=settings.OTLP_NEW_CONVERSATIONS_PER_MINUTE
        )
    except redis.RedisError:
        return 0.0


def _group_store(task: Task, group: list[OtlpSpan], budget: ClassifierBudget) -> int:
    """Store one conversation's spans in its task; returns how many were new."""
    mapped = {span.span_id: (span, span_map(span)) for span in group}
    # Before the transaction (injection/reported.py); a retried export reuses the verdicts.
    scans = _tool_output_scans(task, mapped.values(), budget)
    rows = [_row(task, span, view, scans.get(span.span_id)) for span, view in mapped.values()]
    with transaction.atomic():
        new = spans_insert_new(rows)
        _add_usage(task, [mapped[span_id][1] for span_id in new])
        # Only the spans this request inserted taint: a retried export taints nothing twice.
        for span_id in new:
            if span_id in scans:
                tool_name, scanned = scans[span_id]
                reported_output_taint(task=task, tool_name=tool_name, found=scanned.found, step_index=None)
    return len(new)


def _tool_output_scans(
    task: Task, mapped: Iterable[tuple[OtlpSpan, MappedSpan]], budget: ClassifierBudget
) -> dict[str, tuple[str, ReportedScan]]:
    """span id → (tool name, scan) of each tool span whose output (`gen_ai.tool.call.result`)
    came from an untrusted tool, as the runtime's tool results are scanned."""
    outputs = [
        (span, tool_of(span), view.output)
        for span, view in mapped
        if view.kind == Span.Kind.TOOL and view.output is not None
    ]
    trust = external_tools_trust({name for _, name, _ in outputs})
    scanned = reported_outputs_scan(
        session_id=task.session_id,
        outputs=[ReportedOutput(name, trust[name], output) for _, name, output in outputs],
        budget=budget,
    )
    return {
        span.span_id: (tool_name, scan)
        for (span, tool_name, _), scan in zip(outputs, scanned, strict=True)
        if scan is not None
    }


def _conversations(spans: list[OtlpSpan]) -> dict[tuple[str, str], list[OtlpSpan]]:
    """(agent, conversation id) → spans; a trace's spans follow any span in this request that
    names either (an exporter that batches sends a trace's spans together)."""
    by_trace: dict[str, list[OtlpSpan]] = defaultdict(list)
    for span in spans:
        by_trace[span.trace_id].append(span)
    groups: dict[tuple[str, str], list[OtlpSpan]] = defaultdict(list)
    for trace_id, members in by_trace.items():
        conversation = next(
            (
                str(span.attributes[name])
                for span in members
                for name in CONVERSATION_ATTRIBUTES
                if span.attributes.get(name) not in (None, "")
            ),
            f"otel-{trace_id}",
        )[:MAX_SESSION_ID_CHARS]
        named = next((span for span in members if span.attributes.get("gen_ai.agent.name")), members[0])
        groups[(agent_name(named), conversation)].extend(members)
    return groups


def _row(task: Task, span: OtlpSpan, view: MappedSpan, scanned: tuple[str, ReportedScan] | None) -> Span:
    attributes = {**view.attributes, "otel.trace_id": span.trace_id}
    if scanned is not None:
        scan = scanned[1]
        attributes.update(reported_span_attributes(scan.found, classifier_skipped=scan.classifier_skipped))
    return Span(
        trace_id=task.trace.pk,
        span_id=span.span_id,
        parent_span_id=span.parent_span_id,
        name=span.name,
        kind=view.kind,
        status=Span.Status.ERROR if span.error else Span.Status.OK,
        started_at=span.started_at,
        ended_at=span.ended_at,
        duration_ms=(span.ended_at - span.started_at).total_seconds() * 1000,
        attributes=attributes,
        input=view.input,
        output=view.output,
    )


def _add_usage(task: Task, views: list[MappedSpan]) -> None:
    models = [view for view in views if view.kind == Span.Kind.MODEL]
    tools = sum(1 for view in views if view.kind == Span.Kind.TOOL)
    if not models and not tools:
        return
    Task.objects.filter(pk=task.pk).update(
        input_tokens=_saturating_add("input_tokens", sum(view.usage.input_tokens for view in models)),
        output_tokens=_saturating_add("output_tokens", sum(view.usage.output_tokens for view in models)),
        cached_input_tokens=_saturating_add(
            "cached_input_tokens", sum(view.usage.cached_input_tokens for view in models)
        ),
        cost_usd=_saturating_add("cost_usd", sum((view.cost for view in models), Decimal(0))),
        tool_calls=_saturating_add("tool_calls", tools),
    )


def _saturating_add(column: str, amount: int | Decimal) -> Least:
    """The task's `column` plus `amount`, held at the largest value the column can store: the
    usage a sender reports piles up in its task over any number of exports, and PostgreSQL
    refuses a value past the column's type (the export would fail on every retry)."""
    field = Task._meta.get_field(column)
    if isinstance(field, DecimalField):
        largest: int | Decimal = Decimal(10) ** (field.max_digits - field.decimal_places) - Decimal(10) ** (
            -field.decimal_places
        )
    else:
        largest = connection.ops.integer_field_range(field.get_internal_type())[1]
    # Added in numeric, which does not overflow: two bigints' sum would, before LEAST saw it.
    wide = DecimalField(max_digits=40, decimal_places=12)
    return Least(Cast(F(column), wide) + Value(amount, output_field=wide), Value(largest, output_field=wide))

"""OTLP/HTTP export of a finished task's trace, with the spans' own ids and timestamps.

The spans are already stored with OpenTelemetry GenAI names and attributes; this turns the
rows into SDK spans and hands them to the OTLP/HTTP exporter through a BatchSpanProcessor, so
Jaeger, Langfuse or Phoenix read them unchanged. It runs in its own Celery task, enqueued
after the task's end commits: a slow or unreachable collector delays nothing but the export.
"""

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from agents.models import Task
from tracing.models import Span, Trace
from tracing.prompts import PromptAssembler
from tracing.recorder import EVENTS_ATTRIBUTE

logger = logging.getLogger(__name__)

# Prompt, reply and tool payloads above this many characters are cut: collectors reject
# oversized requests, and the whole payload stays one click away in the console.
PAYLOAD_LIMIT = 32_000
_SCOPE = InstrumentationScope("tollgate")
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_KINDS = {Span.Kind.MODEL: SpanKind.CLIENT, Span.Kind.TOOL: SpanKind.INTERNAL}


def otlp_enabled() -> bool:
    return bool(settings.OTEL_EXPORTER_OTLP_ENDPOINT)


def trace_export(*, task_id: uuid.UUID) -> int:
    """Export the task's trace; returns how many spans were handed to the exporter."""
    trace = Trace.objects.select_related("task__session").filter(task_id=task_id).first()
    if trace is None or not otlp_enabled():
        return 0
    resource = Resource.create({"service.name": settings.OTEL_SERVICE_NAME})
    prompts = PromptAssembler()  # collectors expect each model span's whole prompt
    spans = [
        _readable(span, trace=trace, task=trace.task, resource=resource, prompts=prompts)
        for span in Span.objects.filter(trace=trace).order_by("started_at", "id").iterator()
    ]
    endpoint = settings.OTEL_EXPORTER_OTLP_ENDPOINT.rstrip("/") + "/v1/traces"
    exporter = OTLPSpanExporter(endpoint=endpoint, timeout=settings.OTEL_EXPORT_TIMEOUT_S)
    processor = BatchSpanProcessor(exporter)
    for span in spans:
        processor.on_end(span)
    # Shutting down flushes the batch and joins the processor's thread before the task returns.
    processor.shutdown()
    return len(spans)


def _readable(
    span: Span, *, trace: Trace, task: Task, resource: Resource, prompts: PromptAssembler
) -> ReadableSpan:
    trace_id = int(trace.trace_id, 16)
    context = SpanContext(trace_id, int(span.span_id, 16), is_remote=False, trace_flags=_SAMPLED)
    parent = (
        SpanContext(trace_id, int(span.parent_span_id, 16), is_remote=False, trace_flags=_SAMPLED)
        if span.parent_span_id
        else None
    )
    return ReadableSpan(
        name=span.name,
        context=context,
        parent=parent,
        resource=resource,
        attributes=_attributes(span, task, prompts),
        kind=_KINDS.get(Span.Kind(span.kind), SpanKind.INTERNAL),
        status=Status(StatusCode.ERROR) if span.status == Span.Status.ERROR else Status(StatusCode.UNSET),
        events=_events(span),
        start_time=_nanos(span.started_at),
        end_time=_nanos(span.ended_at),
        instrumentation_scope=_SCOPE,
    )


def _attributes(span: Span, task: Task, prompts: PromptAssembler) -> dict[str, Any]:
    stored = span.attributes if isinstance(span.attributes, dict) else {}
    attributes: dict[str, Any] = {
        key: _value(value) for key, value in stored.items() if value is not None and key != EVENTS_ATTRIBUTE
    }
    session = str(task.session_id)
    attributes.setdefault("gen_ai.conversation.id", session)
    attributes.setdefault("session.id", session)
    if task.session.end_user:
        attributes.setdefault("user.id", task.session.end_user)
    attributes["tollgate.span.kind"] = span.kind
    if span.kind == Span.Kind.MODEL:
        _payload(attributes, "gen_ai.input.messages", prompts.prompt(span))
        _payload(attributes, "gen_ai.output.messages", span.output)
    elif span.kind == Span.Kind.TOOL:
        _payload(attributes, "gen_ai.tool.call.arguments", span.input)
        _payload(attributes, "gen_ai.tool.call.result", span.output)
    else:
        _payload(attributes, "tollgate.input", span.input)
        _payload(attributes, "tollgate.output", span.output)
    return attributes


def _events(span: Span) -> list[Event]:
    """The span's events (tracing/recorder.py keeps them in its attributes), at the span's end."""
    stored = span.attributes.get(EVENTS_ATTRIBUTE) if isinstance(span.attributes, dict) else None
    if not isinstance(stored, list):
        return []
    return [
        Event(
            name=str(event.get("name", "")),
            attributes={key: _value(value) for key, value in (event.get("attributes") or {}).items()},
            timestamp=_nanos(span.ended_at),
        )
        for event in stored
        if isinstance(event, dict)
    ]


def _value(value: Any) -> Any:
    """OTLP attribute values are scalars or lists of one scalar type; anything else as JSON."""
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _payload(attributes: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        attributes[key] = text[:PAYLOAD_LIMIT]


def _nanos(moment: datetime) -> int:
    # Exact integer nanoseconds (a float timestamp would lose the microseconds).
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000

"""An OTLP/HTTP export request, protobuf or JSON, decoded into plain spans (bounded)."""

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from core.json_input import UNSTORABLE_CHARACTERS

MAX_SPANS = 5_000
MAX_ATTRIBUTES = 128
MAX_STRING = 32_000
MAX_VALUE_DEPTH = 8
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STATUS_ERROR = 2
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


class UndecodableExport(Exception):
    """The body is not an OTLP export request (the receiver answers 400)."""


@dataclass(frozen=True)
class OtlpSpan:
    trace_id: str  # 32 hex digits
    span_id: str  # 16 hex digits
    parent_span_id: str  # "" for a root
    name: str
    started_at: datetime
    ended_at: datetime
    error: bool
    attributes: dict[str, Any] = field(default_factory=dict)
    resource: dict[str, Any] = field(default_factory=dict)


def export_decode(body: bytes, *, content_type: str) -> list[OtlpSpan]:
    request = ExportTraceServiceRequest()
    try:
        if content_type == "application/json":
            json_format.ParseDict(_ids_as_base64(json.loads(body)), request, ignore_unknown_fields=True)
        else:
            request.ParseFromString(body)
    except (DecodeError, json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise UndecodableExport(f"not an OTLP trace export: {exc}") from exc
    spans: list[OtlpSpan] = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if len(spans) >= MAX_SPANS:
                    raise UndecodableExport(f"more than {MAX_SPANS} spans in one request")
                if len(span.trace_id) != 16 or len(span.span_id) != 8:
                    continue  # invalid ids (OTLP says: drop the span)
                started = _time(span.start_time_unix_nano)
                spans.append(
                    OtlpSpan(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex() if len(span.parent_span_id) == 8 else "",
                        name=_text(span.name)[:300] or "span",
                        started_at=started,
                        ended_at=max(started, _time(span.end_time_unix_nano)),
                        error=span.status.code == _STATUS_ERROR,
                        attributes=_attributes(span.attributes),
                        resource=resource,
                    )
                )
    return spans


def _ids_as_base64(data: Any) -> Any:
    """OTLP/JSON writes ids as hex; protobuf's JSON mapping reads bytes as base64."""
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    for resource_spans in _objects(data, "resourceSpans"):
        for scope_spans in _objects(resource_spans, "scopeSpans"):
            for span in _objects(scope_spans, "spans"):
                for name in _ID_FIELDS:
                    if isinstance(span.get(name), str) and span[name]:
                        span[name] = base64.b64encode(bytes.fromhex(span[name])).decode()
    return data


def _objects(parent: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """`parent[name]`, a list of objects (none if absent). This walk reads the body before
    protobuf's parser checks it, so a wrong shape must be refused here (ValueError), not met."""
    items = parent.get(name)
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ValueError(f"{name} must be a list of objects")
    return items


def _time(nanos: int) -> datetime:
    # Bounded to the datetime range: a hostile timestamp must not overflow.
    return _EPOCH + timedelta(microseconds=min(nanos, 253_402_300_799 * 10**9) // 1000)


def _attributes(pairs: Any) -> dict[str, Any]:
    return {_text(pair.key)[:200]: _value(pair.value, 0) for pair in list(pairs)[:MAX_ATTRIBUTES]}


def _value(value: AnyValue, depth: int) -> Any:
    kind = value.WhichOneof("value")
    if kind is None or depth > MAX_VALUE_DEPTH:
        return None
    if kind == "string_value":
        return _text(value.string_value)[:MAX_STRING]
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        number = value.double_value
        return number if number == number and abs(number) != float("inf") else None
    if kind == "bool_value":
        return value.bool_value
    if kind == "bytes_value":
        return value.bytes_value.hex()[:MAX_STRING]
    if kind == "array_value":
        return [_value(item, depth + 1) for item in list(value.array_value.values)[:MAX_ATTRIBUTES]]
    return {
        _text(pair.key)[:200]: _value(pair.value, depth + 1)
        for pair in list(value.kvlist_value.values)[:MAX_ATTRIBUTES]
    }


def _text(text: str) -> str:
    # PostgreSQL text and jsonb refuse NUL and lone surrogates.
    return UNSTORABLE_CHARACTERS.sub("\ufffd", text)

"""One OTLP export opens a bounded number of new conversations; the rest are a partial success."""

import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from agents.models import Session
from console.tokens import api_token_create
from tracing.models import Span

pytestmark = pytest.mark.django_db(transaction=True)

# Statements as measured: a known conversation's transaction (BEGIN, its spans' INSERT, the
# task's usage UPDATE, COMMIT), a new one's 8 more (its session, task and trace), and once per
# export the token's check and last use, the conversations' lookup and a first agent's 5.
KNOWN_CONVERSATION_STATEMENTS = 4
NEW_CONVERSATION_STATEMENTS = KNOWN_CONVERSATION_STATEMENTS + 8
EXPORT_STATEMENTS = 3 + 5
CONVERSATION = "gen_ai.conversation.id"


@pytest.fixture
def token(requester) -> str:
    raw, _ = api_token_create(user=requester, name="otel")
    return raw


def span_json(number: int, conversation: str) -> dict:
    return {
        "traceId": f"{number:032x}",
        "spanId": f"{number:016x}",
        "name": "chat m",
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000001000000000",
        "attributes": [
            {"key": CONVERSATION, "value": {"stringValue": conversation}},
            {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "3"}},
        ],
    }


def export_json(client, token: str, spans: list[dict]):
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})
    return client.post(
        "/v1/traces", body, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )


def test_an_export_of_a_conversation_a_span_opens_only_the_first_fifty(client, token, requester):
    """The attack: 200 spans, each in a conversation of its own, made 200 sessions (2,407
    statements). Now the first 50 are stored and the rest answered as OTLP's partial success."""
    spans = [span_json(number, f"c{number}") for number in range(1, 201)]
    with CaptureQueriesContext(connection) as queries:
        response = export_json(client, token, spans)
    assert response.status_code == 200, response.content
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "150"  # int64 is a string in protobuf's JSON mapping
    assert "150 conversations were not stored" in partial["errorMessage"]
    assert Session.objects.filter(owner=requester).count() == 50
    assert Span.objects.count() == 50
    assert len(queries) <= EXPORT_STATEMENTS + 50 * NEW_CONVERSATION_STATEMENTS, len(queries)


def test_conversations_already_open_are_not_counted_against_the_cap(client, token, requester, settings):
    settings.OTLP_MAX_NEW_CONVERSATIONS_PER_EXPORT = 2
    assert export_json(client, token, [span_json(1, "known")]).json() == {}
    # The known conversation comes last, after the cap is reached: its spans are still stored.
    spans = [span_json(number, f"new-{number}") for number in range(2, 6)]
    spans += [span_json(number, "known") for number in range(6, 9)]
    response = export_json(client, token, spans)
    assert response.json()["partialSuccess"]["rejectedSpans"] == "2"
    stored = Session.objects.filter(owner=requester).values_list("external_id", flat=True)
    assert sorted(stored) == ["known", "new-2", "new-3"]
    assert Span.objects.filter(trace__task__session__external_id="known").count() == 4


def test_a_protobuf_export_past_the_cap_gets_a_protobuf_partial_success(client, token, requester, settings):
    settings.OTLP_MAX_NEW_CONVERSATIONS_PER_EXPORT = 1
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                scope_spans=[
                    ScopeSpans(
                        spans=[
                            ProtoSpan(
                                trace_id=number.to_bytes(16, "big"),
                                span_id=number.to_bytes(8, "big"),
                                name="step",
                                attributes=[
                                    KeyValue(key=CONVERSATION, value=AnyValue(string_value=f"c{number}"))
                                ],
                            )
                            for number in range(1, 4)
                        ]
                    )
                ]
            )
        ]
    )
    response = client.post(
        "/v1/traces",
        request.SerializeToString(),
        content_type="application/x-protobuf",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 2
    assert Session.objects.filter(owner=requester).count() == 1


def test_statements_of_an_export_grow_with_its_conversations_not_its_spans(client, token):
    export_json(client, token, [span_json(1, "a"), span_json(2, "b")])
    spans = [span_json(number, "a" if number % 2 else "b") for number in range(3, 1003)]
    with CaptureQueriesContext(connection) as queries:
        response = export_json(client, token, spans)
    assert response.json() == {}
    assert Span.objects.count() == 1002
    assert len(queries) <= EXPORT_STATEMENTS + 2 * KNOWN_CONVERSATION_STATEMENTS, len(queries)


def test_past_the_owners_rate_the_rest_waits_for_the_retry(client, token, requester, settings):
    """Throttled, not lost: the exporter sends the export again after Retry-After, and what the
    first request stored is not stored twice."""
    settings.OTLP_NEW_CONVERSATIONS_PER_MINUTE = 3
    spans = [span_json(number, f"c{number}") for number in range(1, 6)] + [span_json(6, "c1")]
    with time_machine.travel(datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC), tick=False):
        response = export_json(client, token, spans)
    assert response.status_code == 429, response.content
    assert response["Retry-After"] == "30"
    stored = Session.objects.filter(owner=requester).values_list("external_id", flat=True)
    assert sorted(stored) == ["c1", "c2", "c3"]
    assert Span.objects.count() == 4
    with time_machine.travel(datetime(2026, 3, 1, 12, 1, 0, tzinfo=UTC), tick=False):
        response = export_json(client, token, spans)
    assert response.status_code == 200, response.content
    assert Session.objects.filter(owner=requester).count() == 5
    assert Span.objects.count() == 6

"""The OTLP/HTTP receiver, fed by the OpenTelemetry SDK's own exporter over real HTTP."""

import gzip
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from agents.models import ModelPrice, Task
from console.tokens import api_token_create
from tracing.models import Span

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def token(requester) -> str:
    raw, _ = api_token_create(user=requester, name="otel")
    return raw


def export_agent_run(url: str, token: str, *, compression: Compression = Compression.NoCompression) -> None:
    exporter = OTLPSpanExporter(
        endpoint=f"{url}/v1/traces", headers={"Authorization": f"Bearer {token}"}, compression=compression
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "travel-bot"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    conversation = {"gen_ai.conversation.id": "conv-42"}
    with tracer.start_as_current_span(
        "invoke_agent planner",
        attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner", **conversation},
    ):
        with tracer.start_as_current_span(
            "chat gpt-4o",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "acme",
                "gen_ai.request.model": "frontier-1",
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 200,
                "gen_ai.usage.cache_read.input_tokens": 400,
                "gen_ai.usage.cache_creation.input_tokens": 100,
                **conversation,
            },
        ):
            pass
        with tracer.start_as_current_span(
            "execute_tool book_flight",
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "book_flight",
                "gen_ai.tool.call.arguments": json.dumps({"to": "LIS"}),
            },
        ):
            pass
    provider.shutdown()


def test_sdk_export_lands_in_a_priced_session_trace(live_server, token):
    ModelPrice.objects.create(
        model="acme/frontier-1",
        input_usd_per_mtok=Decimal("2.5"),
        cached_input_usd_per_mtok=Decimal("1.25"),
        cache_write_usd_per_mtok=Decimal("3"),
        output_usd_per_mtok=Decimal("10"),
        valid_from=datetime(2020, 1, 1, tzinfo=UTC),
    )
    from agents.providers.pricing import price_table_reset

    price_table_reset()
    export_agent_run(live_server.url, token)
    task = Task.objects.select_related("session__agent").get(session__external_id="conv-42")
    assert (task.session.agent.name, task.status) == ("planner", Task.Status.EXTERNAL)
    spans = {span.name: span for span in Span.objects.filter(trace__task=task)}
    assert set(spans) == {"invoke_agent planner", "chat gpt-4o", "execute_tool book_flight"}
    chat = spans["chat gpt-4o"]
    assert chat.kind == "model"
    assert chat.parent_span_id == spans["invoke_agent planner"].span_id
    # 500 uncached at 2.5, 400 cached at 1.25, 100 written at 3, 200 out at 10 (per million).
    expected = (500 * Decimal("2.5") + 400 * Decimal("1.25") + 100 * 3 + 200 * 10) / 1_000_000
    assert Decimal(chat.attributes["tollgate.cost_usd"]) == expected
    assert spans["execute_tool book_flight"].kind == "tool"
    assert spans["execute_tool book_flight"].input == {"to": "LIS"}
    assert (task.input_tokens, task.output_tokens, task.cached_input_tokens) == (1000, 200, 400)
    assert task.cost_usd == expected


def test_a_retried_export_adds_nothing_twice(live_server, token, client):
    export_agent_run(live_server.url, token, compression=Compression.Gzip)
    task = Task.objects.get(session__external_id="conv-42")
    body = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": span.span_id,
                                "name": "chat again",
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000001000000000",
                                "attributes": [
                                    {"key": "gen_ai.conversation.id", "value": {"stringValue": "conv-42"}},
                                    {"key": "gen_ai.agent.name", "value": {"stringValue": "planner"}},
                                    {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                                    {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "7"}},
                                ],
                            }
                            for span in Span.objects.filter(trace__task=task)
                        ]
                    }
                ]
            }
        ]
    }
    response = client.post(
        "/v1/traces",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.content
    assert Span.objects.filter(trace__task=task).count() == 3
    task.refresh_from_db()
    assert task.input_tokens == 1000


@pytest.mark.parametrize(
    ("headers", "body", "content_type", "status"),
    [
        ({}, b"", "application/x-protobuf", 401),
        ({"Authorization": "Bearer nope"}, b"", "application/x-protobuf", 401),
        (None, b"\xff\xfe garbage", "application/x-protobuf", 400),
        (
            None,
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
            "application/json",
            400,
        ),
        (None, b"[1]", "application/json", 400),
        # Wrongly shaped at each level the receiver walks before protobuf's parser (were 500s).
        (None, b'{"resourceSpans": "x"}', "application/json", 400),
        (None, b'{"resourceSpans": [1]}', "application/json", 400),
        (None, b'{"resourceSpans": [{"scopeSpans": "x"}]}', "application/json", 400),
        (None, b'{"resourceSpans": [{"scopeSpans": [{"spans": {"a": 1}}]}]}', "application/json", 400),
        (None, b'{"resourceSpans": [{"scopeSpans": [{"spans": [null]}]}]}', "application/json", 400),
        (None, b"{}", "text/plain", 415),
        (None, gzip.compress(b"\0" * 5_000_000), "application/x-protobuf", 413),
    ],
)
def test_hostile_exports_get_4xx(client, token, headers, body, content_type, status):
    sent = {"Authorization": f"Bearer {token}"} if headers is None else headers
    if body.startswith(b"\x1f\x8b"):
        sent = {**sent, "Content-Encoding": "gzip"}
    response = client.post("/v1/traces", body, content_type=content_type, headers=sent)
    assert response.status_code == status, response.content

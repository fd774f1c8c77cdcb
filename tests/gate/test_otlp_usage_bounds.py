"""Usage an OTLP export reports is bounded per span, and its task's totals saturate, never a 500."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from agents.models import ModelPrice, Task
from agents.providers.pricing import price_table_reset
from console.tokens import api_token_create
from tracing.ingest.mapping import MAX_SPAN_TOKENS

pytestmark = pytest.mark.django_db(transaction=True)

LARGEST_COST = Decimal("999999999999.999999999999")  # numeric(24,12)
LARGEST_BIGINT = 2**63 - 1
LARGEST_INTEGER = 2**31 - 1


@pytest.fixture
def token(requester) -> str:
    raw, _ = api_token_create(user=requester, name="otel")
    return raw


@pytest.fixture
def priced_model() -> None:
    ModelPrice.objects.create(
        model="acme/pro",
        input_usd_per_mtok=Decimal("150"),
        cached_input_usd_per_mtok=Decimal("150"),
        cache_write_usd_per_mtok=Decimal("150"),
        output_usd_per_mtok=Decimal("600"),
        valid_from=datetime(2020, 1, 1, tzinfo=UTC),
    )
    price_table_reset()


def export(client, token: str, spans: list[dict]):
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})
    return client.post(
        "/v1/traces", body, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )


def model_span(number: int, *, output_tokens: int) -> dict:
    def attribute(key: str, value: dict) -> dict:
        return {"key": key, "value": value}

    return {
        "traceId": "ab" * 16,
        "spanId": f"{number:016x}",
        "name": "chat pro",
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000001000000000",
        "attributes": [
            attribute("gen_ai.operation.name", {"stringValue": "chat"}),
            attribute("gen_ai.conversation.id", {"stringValue": "conv-overflow"}),
            attribute("gen_ai.provider.name", {"stringValue": "acme"}),
            attribute("gen_ai.request.model", {"stringValue": "pro"}),
            attribute("gen_ai.usage.output_tokens", {"intValue": str(output_tokens)}),
        ],
    }


def tool_span(number: int) -> dict:
    return {
        **model_span(number, output_tokens=0),
        "name": "execute_tool lookup",
        "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "execute_tool"}},
            {"key": "gen_ai.conversation.id", "value": {"stringValue": "conv-overflow"}},
        ],
    }


def test_a_span_counts_at_most_max_span_tokens(client, token, priced_model):
    """The attack sent 2,000 spans of 10^12 tokens at $600/M: 500 from the cost column."""
    response = export(client, token, [model_span(number, output_tokens=10**12) for number in range(1, 2001)])
    assert response.status_code == 200, response.content
    task = Task.objects.get(session__external_id="conv-overflow")
    assert task.output_tokens == 2000 * MAX_SPAN_TOKENS
    assert task.cost_usd == 2000 * MAX_SPAN_TOKENS * Decimal(600) / 1_000_000


def test_totals_that_would_overflow_their_columns_saturate(client, token, priced_model):
    assert export(client, token, [model_span(1, output_tokens=1)]).status_code == 200
    task = Task.objects.get(session__external_id="conv-overflow")
    Task.objects.filter(pk=task.pk).update(
        cost_usd=LARGEST_COST - 1, output_tokens=LARGEST_BIGINT - 1, tool_calls=LARGEST_INTEGER
    )
    response = export(client, token, [model_span(2, output_tokens=MAX_SPAN_TOKENS), tool_span(3)])
    assert response.status_code == 200, response.content
    task.refresh_from_db()
    assert (task.cost_usd, task.output_tokens, task.tool_calls) == (
        LARGEST_COST,
        LARGEST_BIGINT,
        LARGEST_INTEGER,
    )


def test_totals_below_their_columns_add_exactly(client, token, priced_model):
    assert export(client, token, [model_span(1, output_tokens=1000)]).status_code == 200
    assert export(client, token, [model_span(2, output_tokens=500), tool_span(3)]).status_code == 200
    task = Task.objects.get(session__external_id="conv-overflow")
    assert (task.output_tokens, task.tool_calls) == (1500, 1)
    assert task.cost_usd == 1500 * Decimal(600) / 1_000_000

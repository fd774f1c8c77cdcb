"""The bill for each provider's raw response format, to the cent, computed by hand.

Cached reads and cache writes are parts of the prompt, each priced at its own rate and never
counted twice (the bug class of LiteLLM #9812/#11364 and Langfuse #10592).
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from agents.models import ModelPrice
from agents.providers.anthropic import anthropic_body, parse_message
from agents.providers.base import ChatRequest
from agents.providers.openai import parse_chat_completion
from agents.providers.pricing import model_cost, price_table_reset

pytestmark = pytest.mark.django_db

AT = datetime(2025, 9, 1, tzinfo=UTC)
CENT = Decimal("0.01")


@pytest.fixture(autouse=True)
def prices(db):
    ModelPrice.objects.all().delete()
    since = datetime(2024, 1, 1, tzinfo=UTC)
    # OpenAI gpt-4o: $2.50 in, $1.25 cached read, $10 out per million tokens.
    ModelPrice.objects.create(
        model="openai/gpt-4o",
        input_usd_per_mtok=Decimal("2.50"),
        cached_input_usd_per_mtok=Decimal("1.25"),
        cache_write_usd_per_mtok=Decimal("0"),
        output_usd_per_mtok=Decimal("10.00"),
        valid_from=since,
    )
    # Anthropic Claude Sonnet: $3 in, $0.30 cache read, $3.75 cache write (5 min), $15 out.
    ModelPrice.objects.create(
        model="anthropic/claude-sonnet-4-5",
        input_usd_per_mtok=Decimal("3.00"),
        cached_input_usd_per_mtok=Decimal("0.30"),
        cache_write_usd_per_mtok=Decimal("3.75"),
        output_usd_per_mtok=Decimal("15.00"),
        valid_from=since,
    )
    price_table_reset()
    yield
    price_table_reset()


def openai_answer(usage: dict) -> dict:
    return {
        "id": "chatcmpl-1",
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": usage,
    }


def anthropic_answer(usage: dict) -> dict:
    return {
        "id": "msg_1",
        "type": "message",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "usage": usage,
    }


def bill(model: str, response) -> Decimal:
    return model_cost(model=model, usage=response.usage, at=AT)


def test_openai_without_cache():
    # 120,000 x $2.50 + 4,000 x $10 per million = $0.30 + $0.04
    response = parse_chat_completion(
        openai_answer({"prompt_tokens": 120_000, "completion_tokens": 4_000, "total_tokens": 124_000}),
        provider="openai",
        latency_ms=1,
    )

    assert bill("openai/gpt-4o", response) == Decimal("0.34")


def test_openai_cached_tokens_are_part_of_prompt_tokens_and_billed_once():
    # prompt_tokens 120,000 of which 100,000 cached: 20,000 x $2.50 = $0.05,
    # 100,000 x $1.25 = $0.125, 4,000 out x $10 = $0.04. Total $0.215 → $0.22 (not $0.465,
    # which is what adding the cached tokens on top of prompt_tokens would bill).
    response = parse_chat_completion(
        openai_answer(
            {
                "prompt_tokens": 120_000,
                "completion_tokens": 4_000,
                "total_tokens": 124_000,
                "prompt_tokens_details": {"cached_tokens": 100_000, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 1_000},
            }
        ),
        provider="openai",
        latency_ms=1,
    )

    cost = bill("openai/gpt-4o", response)
    assert cost == Decimal("0.215")
    assert cost.quantize(CENT) == Decimal("0.22")
    assert (response.usage.input_tokens, response.usage.cached_input_tokens) == (120_000, 100_000)


def test_anthropic_without_cache():
    # 50,000 x $3 + 2,000 x $15 per million = $0.15 + $0.03
    response = parse_message(
        anthropic_answer(
            {
                "input_tokens": 50_000,
                "output_tokens": 2_000,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            }
        ),
        latency_ms=1,
    )

    assert bill("anthropic/claude-sonnet-4-5", response) == Decimal("0.18")


def test_anthropic_cache_write_then_read_each_at_its_rate():
    # First call writes the 40,000-token prefix: 2,000 uncached x $3 = $0.006,
    # 40,000 written x $3.75 = $0.15, 1,000 out x $15 = $0.015. Total $0.171 → $0.17.
    # Anthropic's input_tokens excludes the cached parts; they are added, never twice.
    first = parse_message(
        anthropic_answer(
            {
                "input_tokens": 2_000,
                "output_tokens": 1_000,
                "cache_creation_input_tokens": 40_000,
                "cache_read_input_tokens": 0,
            }
        ),
        latency_ms=1,
    )
    # Second call reads it: 3,000 uncached x $3 = $0.009, 40,000 read x $0.30 = $0.012,
    # 1,000 out x $15 = $0.015. Total $0.036 → $0.04.
    second = parse_message(
        anthropic_answer(
            {
                "input_tokens": 3_000,
                "output_tokens": 1_000,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 40_000,
            }
        ),
        latency_ms=1,
    )

    assert bill("anthropic/claude-sonnet-4-5", first) == Decimal("0.171")
    assert bill("anthropic/claude-sonnet-4-5", first).quantize(CENT) == Decimal("0.17")
    assert bill("anthropic/claude-sonnet-4-5", second) == Decimal("0.036")
    assert bill("anthropic/claude-sonnet-4-5", second).quantize(CENT) == Decimal("0.04")
    assert first.usage.input_tokens == 42_000
    assert second.usage.input_tokens == 43_000


def test_anthropic_requests_mark_the_system_prompt_and_tools_for_caching():
    request = ChatRequest(
        model="claude-sonnet-4-5",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        tools=[
            {"type": "function", "function": {"name": "a", "parameters": {"type": "object"}}},
            {"type": "function", "function": {"name": "b", "parameters": {"type": "object"}}},
        ],
    )

    body = anthropic_body(request)

    assert body["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in body["tools"][0]

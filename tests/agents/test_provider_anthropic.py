"""The Anthropic provider against a local server answering in the Messages API's real format."""

import pytest

from agents.providers.anthropic import AnthropicProvider
from agents.providers.base import ChatRequest, ProviderError, ToolCall, Usage
from tests.agents.provider_server import Canned, provider_server

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Look an order up by id.",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "issue_refund",
            "description": "Refund an order.",
            "parameters": {"type": "object", "properties": {"amount": {"type": "number"}}},
        },
    },
]
# A conversation in the internal (OpenAI) format after one round of two parallel tool calls.
CONVERSATION = [
    {"role": "system", "content": "You are a support agent."},
    {"role": "user", "content": "Refund A-1001 and A-1003."},
    {
        "role": "assistant",
        "content": "Looking both up.",
        "tool_calls": [
            {
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "lookup_order", "arguments": '{"order_id": "A-1001"}'},
            },
            {
                "id": "toolu_2",
                "type": "function",
                "function": {"name": "lookup_order", "arguments": '{"order_id": "A-1003"}'},
            },
        ],
    },
    {"role": "tool", "tool_call_id": "toolu_1", "content": '{"amount": 49.99}'},
    {"role": "tool", "tool_call_id": "toolu_2", "content": '{"amount": 249.0}'},
]


def message(content: list[dict], *, stop_reason: str, usage: dict) -> dict:
    """A message object as api.anthropic.com returns it (claude-sonnet-4-5, 2025)."""
    return {
        "id": "msg_01Aq9w938a90dw8q",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def usage(*, uncached: int, read: int = 0, written: int = 0, output: int) -> dict:
    return {
        "input_tokens": uncached,
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": read,
        "cache_creation": {"ephemeral_5m_input_tokens": written, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output,
        "service_tier": "standard",
    }


def anthropic_error(kind: str, text: str) -> dict:
    return {
        "type": "error",
        "error": {"type": kind, "message": text},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
    }


@pytest.fixture
def server():
    with provider_server() as running:
        yield running


@pytest.fixture
def provider(server) -> AnthropicProvider:
    return AnthropicProvider(base_url=server.url, api_key="sk-ant-test", timeout_s=2)


def answer_text(server, text: str = "ok") -> None:
    server.answer(
        Canned(
            message(
                [{"type": "text", "text": text}], stop_reason="end_turn", usage=usage(uncached=10, output=1)
            )
        )
    )


def test_request_is_converted_to_the_messages_format(server, provider):
    answer_text(server)

    provider.complete(
        ChatRequest(model="claude-sonnet-4-5", messages=CONVERSATION, tools=TOOLS, max_tokens=512)
    )

    sent = server.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == "sk-ant-test"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.body["model"] == "claude-sonnet-4-5"
    assert sent.body["max_tokens"] == 512
    assert sent.body["system"] == [
        {"type": "text", "text": "You are a support agent.", "cache_control": {"type": "ephemeral"}}
    ]
    assert sent.body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Refund A-1001 and A-1003."}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Looking both up."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "lookup_order",
                    "input": {"order_id": "A-1001"},
                },
                {
                    "type": "tool_use",
                    "id": "toolu_2",
                    "name": "lookup_order",
                    "input": {"order_id": "A-1003"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": '{"amount": 49.99}'},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": '{"amount": 249.0}'},
            ],
        },
    ]
    assert sent.body["tools"] == [
        {
            "name": "lookup_order",
            "description": "Look an order up by id.",
            "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}}},
        },
        {
            "name": "issue_refund",
            "description": "Refund an order.",
            "input_schema": {"type": "object", "properties": {"amount": {"type": "number"}}},
            "cache_control": {"type": "ephemeral"},
        },
    ]


def test_a_user_message_after_tool_results_joins_their_turn(server, provider):
    """Anthropic needs alternating turns, with tool results first in the user turn."""
    answer_text(server)
    follow_up = [*CONVERSATION[1:], {"role": "user", "content": "Also, thanks!"}]

    provider.complete(ChatRequest(model="claude-sonnet-4-5", messages=follow_up))

    sent = server.requests[0].body
    assert "system" not in sent
    assert "tools" not in sent
    assert [turn["role"] for turn in sent["messages"]] == ["user", "assistant", "user"]
    assert [block["type"] for block in sent["messages"][2]["content"]] == [
        "tool_result",
        "tool_result",
        "text",
    ]


def test_tool_use_blocks_become_tool_calls(server, provider):
    server.answer(
        Canned(
            message(
                [
                    {"type": "text", "text": "I'll refund it."},
                    {
                        "type": "tool_use",
                        "id": "toolu_01A09q90qw90lq917835lq9",
                        "name": "issue_refund",
                        "input": {"order_id": "A-1001", "amount": 49.99},
                    },
                ],
                stop_reason="tool_use",
                usage=usage(uncached=50, output=100),
            )
        )
    )

    response = provider.complete(ChatRequest(model="claude-sonnet-4-5", messages=CONVERSATION, tools=TOOLS))

    assert response.content == "I'll refund it."
    assert response.tool_calls == [
        ToolCall(
            id="toolu_01A09q90qw90lq917835lq9",
            name="issue_refund",
            arguments={"order_id": "A-1001", "amount": 49.99},
            raw_arguments='{"order_id": "A-1001", "amount": 49.99}',
        )
    ]
    assert response.finish_reason == "tool_calls"
    assert response.provider == "anthropic"
    assert response.model == "claude-sonnet-4-5-20250929"
    assert response.response_id == "msg_01Aq9w938a90dw8q"


def test_text_answer_and_usage_count_cached_tokens_in_the_input(server, provider):
    server.answer(
        Canned(
            message(
                [{"type": "text", "text": "Both refunds are done."}],
                stop_reason="end_turn",
                usage=usage(uncached=50, read=2000, written=300, output=100),
            )
        )
    )

    response = provider.complete(ChatRequest(model="claude-sonnet-4-5", messages=CONVERSATION))

    assert response.content == "Both refunds are done."
    assert response.tool_calls == []
    assert response.finish_reason == "stop"
    assert response.usage == Usage(
        input_tokens=2350, output_tokens=100, cached_input_tokens=2000, cache_write_tokens=300
    )


def test_429_is_a_rate_limit_with_retry_after(server, provider):
    text = "Number of request tokens has exceeded your per-minute rate limit."
    server.answer(
        Canned(anthropic_error("rate_limit_error", text), status=429, headers={"retry-after": "12"})
    )

    with pytest.raises(ProviderError) as caught:
        provider.complete(ChatRequest(model="claude-sonnet-4-5", messages=CONVERSATION))

    assert (caught.value.kind, caught.value.status, caught.value.retry_after_s) == ("rate_limit", 429, 12.0)
    assert text in str(caught.value)


@pytest.mark.parametrize(
    ("status", "kind", "error_type"),
    [
        (500, "transient", "api_error"),
        (529, "transient", "overloaded_error"),
        (400, "permanent", "invalid_request_error"),
        (401, "permanent", "authentication_error"),
    ],
)
def test_http_errors_are_classified(server, provider, status, kind, error_type):
    server.answer(Canned(anthropic_error(error_type, f"{error_type} happened"), status=status))

    with pytest.raises(ProviderError) as caught:
        provider.complete(ChatRequest(model="claude-sonnet-4-5", messages=CONVERSATION))

    assert (caught.value.kind, caught.value.status) == (kind, status)
    assert f"{error_type} happened" in str(caught.value)


def test_timeout_is_transient(server):
    slow = AnthropicProvider(base_url=server.url, api_key="k", timeout_s=0.2)
    server.answer(Canned(message([], stop_reason="end_turn", usage=usage(uncached=1, output=1)), delay_s=1.0))

    with pytest.raises(ProviderError) as caught:
        slow.complete(ChatRequest(model="claude-sonnet-4-5", messages=CONVERSATION))

    assert caught.value.kind == "transient"

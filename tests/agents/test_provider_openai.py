"""The OpenAI-compatible provider against a local server answering in OpenAI's real format."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from agents.providers.anthropic import AnthropicProvider
from agents.providers.base import ChatRequest, ProviderError, ToolCall, Usage
from agents.providers.openai import OpenAIProvider
from agents.providers.registry import provider_for
from tests.agents.provider_server import Canned, provider_server

LOOKUP_TOOL = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Look an order up by id.",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
        },
    },
}
MESSAGES = [
    {"role": "system", "content": "You are a support agent."},
    {"role": "user", "content": "Where is order A-1001?"},
]


def completion(message: dict, *, finish_reason: str, usage: dict) -> dict:
    """A chat.completion object as api.openai.com returns it (gpt-4o, 2025)."""
    return {
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "object": "chat.completion",
        "created": 1741570283,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "refusal": None, "annotations": [], **message},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": "fp_fc9f1d7035",
    }


def usage(prompt: int, completion_tokens: int, cached: int = 0) -> dict:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def openai_error(message: str, kind: str, code: str | None) -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@pytest.fixture
def server():
    with provider_server() as running:
        yield running


@pytest.fixture
def provider(server) -> OpenAIProvider:
    return OpenAIProvider(base_url=server.url + "/v1", api_key="sk-test", timeout_s=2)


def test_tool_call_is_parsed_and_request_carries_tools(server, provider):
    server.answer(
        Canned(
            completion(
                {
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_LUuzMdEyRtbKQ0Dz3iJrIsfa",
                            "type": "function",
                            "function": {"name": "lookup_order", "arguments": '{"order_id":"A-1001"}'},
                        }
                    ],
                },
                finish_reason="tool_calls",
                usage=usage(82, 17),
            )
        )
    )

    response = provider.complete(
        ChatRequest(model="gpt-4o", messages=MESSAGES, tools=[LOOKUP_TOOL], max_tokens=300)
    )

    assert response.tool_calls == [
        ToolCall(
            id="call_LUuzMdEyRtbKQ0Dz3iJrIsfa",
            name="lookup_order",
            arguments={"order_id": "A-1001"},
            raw_arguments='{"order_id":"A-1001"}',
        )
    ]
    assert response.content == ""
    assert response.finish_reason == "tool_calls"
    assert response.model == "gpt-4o-2024-08-06"
    assert response.provider == "openai"
    assert response.response_id == "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"
    assert response.latency_ms > 0
    sent = server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.body == {"model": "gpt-4o", "messages": MESSAGES, "tools": [LOOKUP_TOOL], "max_tokens": 300}


def test_text_answer_with_cached_prompt_tokens(server, provider):
    server.answer(
        Canned(
            completion(
                {"content": "Order A-1001 was delivered on Tuesday."},
                finish_reason="stop",
                usage=usage(2306, 12, cached=1920),
            )
        )
    )

    response = provider.complete(ChatRequest(model="gpt-4o", messages=MESSAGES))

    assert response.content == "Order A-1001 was delivered on Tuesday."
    assert response.tool_calls == []
    assert response.finish_reason == "stop"
    assert response.usage == Usage(input_tokens=2306, output_tokens=12, cached_input_tokens=1920)
    assert "tools" not in server.requests[0].body


def test_unparsable_arguments_keep_the_raw_text(server, provider):
    broken = '{"order_id": "A-1001"'
    server.answer(
        Canned(
            completion(
                {
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "lookup_order", "arguments": broken},
                        }
                    ],
                },
                finish_reason="tool_calls",
                usage=usage(80, 9),
            )
        )
    )

    call = provider.complete(ChatRequest(model="gpt-4o", messages=MESSAGES)).tool_calls[0]

    assert call.arguments is None
    assert call.raw_arguments == broken


@pytest.mark.parametrize(
    ("headers", "expected_s"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after-ms": "1500", "retry-after": "2"}, 1.5),
        ({"retry-after": "HTTP-DATE+30"}, 30.0),
    ],
)
def test_429_is_a_rate_limit_with_retry_after(server, provider, headers, expected_s):
    if headers.get("retry-after") == "HTTP-DATE+30":
        in_30_s = datetime.now(UTC) + timedelta(seconds=30)
        headers = {"retry-after": format_datetime(in_30_s, usegmt=True)}
    message = "Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM)."
    server.answer(Canned(openai_error(message, "tokens", "rate_limit_exceeded"), status=429, headers=headers))

    with pytest.raises(ProviderError) as caught:
        provider.complete(ChatRequest(model="gpt-4o", messages=MESSAGES))

    assert caught.value.kind == "rate_limit"
    assert caught.value.status == 429
    assert caught.value.retry_after_s == pytest.approx(expected_s, abs=1.5)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (500, "transient"),
        (503, "transient"),
        (408, "transient"),
        (400, "permanent"),
        (401, "permanent"),
        (404, "permanent"),
    ],
)
def test_http_errors_are_classified(server, provider, status, kind):
    message = "Invalid 'messages[1].content': string too long."
    server.answer(Canned(openai_error(message, "invalid_request_error", None), status=status))

    with pytest.raises(ProviderError) as caught:
        provider.complete(ChatRequest(model="gpt-4o", messages=MESSAGES))

    assert caught.value.kind == kind
    assert caught.value.status == status
    assert message in str(caught.value)


def test_timeout_is_transient(server):
    slow = OpenAIProvider(base_url=server.url + "/v1", api_key="", timeout_s=0.2)
    server.answer(
        Canned(completion({"content": "late"}, finish_reason="stop", usage=usage(1, 1)), delay_s=1.0)
    )

    with pytest.raises(ProviderError) as caught:
        slow.complete(ChatRequest(model="gpt-4o", messages=MESSAGES))

    assert caught.value.kind == "transient"
    assert "timed out" in str(caught.value)


def test_refused_connection_is_transient(server):
    with provider_server() as closed:
        url = closed.url
    gone = OpenAIProvider(base_url=url + "/v1", api_key="", timeout_s=1)

    with pytest.raises(ProviderError) as caught:
        gone.complete(ChatRequest(model="gpt-4o", messages=MESSAGES))

    assert caught.value.kind == "transient"


def test_a_non_json_200_is_transient(server, provider):
    server.answer(Canned("<html>502 Bad Gateway</html>"))

    with pytest.raises(ProviderError) as caught:
        provider.complete(ChatRequest(model="gpt-4o", messages=MESSAGES))

    assert caught.value.kind == "transient"


def test_calls_reuse_one_pooled_connection_across_providers(server):
    """Two provider instances share the process's client: the second call reuses the socket."""
    first = OpenAIProvider(base_url=server.url + "/v1", api_key="", timeout_s=2)
    second = OpenAIProvider(base_url=server.url + "/v1", api_key="", timeout_s=2)
    answer = completion({"content": "ok"}, finish_reason="stop", usage=usage(5, 1))
    server.answer(Canned(answer), Canned(answer), Canned(answer))

    first.complete(ChatRequest(model="m", messages=MESSAGES))
    first.complete(ChatRequest(model="m", messages=MESSAGES))
    second.complete(ChatRequest(model="m", messages=MESSAGES))

    assert len({recorded.client_port for recorded in server.requests}) == 1


def test_sim_models_route_to_the_simulator_read_at_call_time(server, settings):
    settings.SIMULATOR_URL = server.url
    server.answer(Canned(completion({"content": "hi"}, finish_reason="stop", usage=usage(5, 1))))

    provider, model = provider_for("sim/refund")
    provider.complete(ChatRequest(model=model, messages=MESSAGES))

    assert (provider.name, model) == ("simulator", "refund")
    assert server.requests[0].path == "/v1/chat/completions"
    assert server.requests[0].body["model"] == "refund"
    assert "authorization" not in server.requests[0].headers


def test_openai_and_anthropic_models_route_by_prefix(settings):
    settings.OPENAI_BASE_URL = "http://127.0.0.1:1/v1"

    openai, openai_model = provider_for("openai/gpt-4o-mini")
    anthropic, anthropic_model = provider_for("anthropic/claude-sonnet-4-5")

    assert isinstance(openai, OpenAIProvider)
    assert (openai.name, openai_model) == ("openai", "gpt-4o-mini")
    assert isinstance(anthropic, AnthropicProvider)
    assert anthropic_model == "claude-sonnet-4-5"
    assert provider_for("openai/gpt-4o-mini")[0] is openai  # instances are cached


@pytest.mark.parametrize("model", ["gpt-4o", "mistral/large", "sim/", ""])
def test_unknown_prefixes_are_rejected_with_the_accepted_ones(model):
    with pytest.raises(ValueError, match="sim/, openai/, anthropic/"):
        provider_for(model)

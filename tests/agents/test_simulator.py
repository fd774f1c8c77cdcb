"""The simulator as a real process, driven through the real OpenAI-compatible provider."""

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from agents.providers.base import ChatRequest, ChatResponse, ProviderError
from agents.providers.openai import OpenAIProvider
from simulator.scenarios import BUILTIN_FOLDER, ScenarioError, scenario_parse, scenarios_load
from tests.support.processes import free_port, running_simulator

EXTRA_SCENARIOS = {
    "flaky.yaml": """
turns:
  - error: 429
    times: 2
    retry_after: 3
  - error: 500
    times: 1
    message: upstream exploded
  - tool: lookup_order
    arguments: {order_id: A-1001}
  - answer: done
""",
    "slow.json": json.dumps({"latency_ms": 300, "turns": [{"answer": "finally"}]}),
    "down.yaml": "turns:\n  - error: 503\n",
    "parallel.yaml": """
turns:
  - calls:
      - {tool: lookup_order, arguments: {order_id: A-1001}}
      - {tool: lookup_order, arguments: {order_id: A-1003}}
  - answer: both looked up
""",
}
LONG_SYSTEM_PROMPT = "You are a careful support agent who double-checks every order. " * 100


@pytest.fixture(scope="module")
def simulator(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("scenarios")
    for name, text in EXTRA_SCENARIOS.items():
        (folder / name).write_text(text)
    with running_simulator(tmp_path_factory.mktemp("sim"), free_port(), SIM_SCENARIOS=str(folder)) as url:
        yield url


@pytest.fixture(scope="module")
def provider(simulator) -> OpenAIProvider:
    return OpenAIProvider(base_url=simulator + "/v1", api_key="", timeout_s=5, name="simulator")


def ask(provider: OpenAIProvider, model: str, messages: list[dict]) -> ChatResponse:
    return provider.complete(ChatRequest(model=model, messages=messages))


def assistant_message(response: ChatResponse) -> dict:
    message: dict = {"role": "assistant", "content": response.content or None}
    if response.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.raw_arguments},
            }
            for call in response.tool_calls
        ]
    return message


def converse(
    provider: OpenAIProvider,
    model: str,
    user_text: str,
    run_tool: Callable[[str, dict, str], str],
    *,
    max_turns: int = 10,
) -> tuple[list[tuple[str, dict]], str]:
    """What the runtime does, minus the guardrails: call the model, run its tools, repeat."""
    messages = [{"role": "system", "content": "You help customers."}, {"role": "user", "content": user_text}]
    calls: list[tuple[str, dict]] = []
    for _ in range(max_turns):
        response = ask(provider, model, messages)
        messages.append(assistant_message(response))
        if not response.tool_calls:
            return calls, response.content
        for call in response.tool_calls:
            calls.append((call.name, call.arguments))
            result = run_tool(call.name, call.arguments, call.id)
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    return calls, ""


def http_tools(simulator: str) -> Callable[[str, dict, str], str]:
    def run(name: str, arguments: dict, call_id: str) -> str:
        response = httpx.post(
            f"{simulator}/tools/{name}", json=arguments, headers={"Idempotency-Key": call_id}
        )
        status = "success" if response.is_success else "error"
        return json.dumps({"status": status, "http_status": response.status_code, "data": response.json()})

    return run


def refunds(simulator: str) -> int:
    return httpx.get(f"{simulator}/tools/stats").json()["refunds"]


def test_health_and_the_scenario_list(simulator):
    assert httpx.get(f"{simulator}/health").json()["status"] == "ok"
    names = {model["id"] for model in httpx.get(f"{simulator}/v1/models").json()["data"]}
    assert {"refund", "research", "failing_tool", "loop", "echo", "chain", "flaky", "slow"} <= names


def test_echo_answers_at_once_with_realistic_usage(provider):
    text = "Please tell me the opening hours of the Sydney store."

    response = ask(provider, "echo", [{"role": "user", "content": text}])

    assert response.content == text
    assert response.tool_calls == []
    assert response.finish_reason == "stop"
    assert (response.provider, response.model) == ("simulator", "echo")
    # About four characters per token, plus a few tokens of framing per message.
    assert len(text) // 4 <= response.usage.input_tokens <= len(text) // 4 + 8
    assert response.usage.output_tokens == pytest.approx(len(text) / 4, abs=1)
    assert response.usage.cached_input_tokens == 0


def test_refund_looks_up_refunds_and_answers(provider, simulator):
    before = refunds(simulator)

    calls, answer = converse(
        provider, "refund", "Order A-1001 arrived broken, refund it please.", http_tools(simulator)
    )

    assert calls == [
        ("lookup_order", {"order_id": "A-1001"}),
        (
            "issue_refund",
            {"order_id": "A-1001", "amount": 49.99, "reason": "Customer reported the item arrived damaged."},
        ),
    ]
    assert "refunded 49.99 USD for order A-1001" in answer
    assert refunds(simulator) == before + 1


def test_refund_branches_on_a_declined_payment(provider, simulator):
    before = refunds(simulator)

    calls, answer = converse(provider, "refund", "Refund A-1002 now.", http_tools(simulator))

    assert calls == [("lookup_order", {"order_id": "A-1002"})]
    assert "declined" in answer
    assert refunds(simulator) == before


def test_refund_branches_on_an_unknown_order(provider, simulator):
    calls, answer = converse(provider, "refund", "Refund A-9999.", http_tools(simulator))

    assert calls == [("lookup_order", {"order_id": "A-9999"})]
    assert "couldn't find order A-9999" in answer


def test_a_new_user_message_starts_the_scenario_again(provider):
    """A session's second task: the turn counts from the last user message."""
    first = [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hello"}]

    response = ask(provider, "echo", [*first, {"role": "user", "content": "second task"}])

    assert response.content == "second task"


def test_the_same_request_gets_the_same_reply(provider):
    messages = [{"role": "user", "content": "Refund A-1003."}]

    first, second = ask(provider, "refund", messages), ask(provider, "refund", messages)

    assert first.tool_calls == second.tool_calls
    assert first.tool_calls[0].arguments == {"order_id": "A-1003"}


def test_issue_refund_honours_the_idempotency_key(simulator):
    body = {"order_id": "A-1003", "amount": 249.0, "reason": "damaged"}
    before = refunds(simulator)

    first = httpx.post(
        f"{simulator}/tools/issue_refund", json=body, headers={"Idempotency-Key": "task-1:3:0"}
    )
    again = httpx.post(
        f"{simulator}/tools/issue_refund", json=body, headers={"Idempotency-Key": "task-1:3:0"}
    )
    other = httpx.post(
        f"{simulator}/tools/issue_refund", json=body, headers={"Idempotency-Key": "task-2:3:0"}
    )

    assert first.status_code == again.status_code == other.status_code == 200
    assert first.json() == again.json()
    assert other.json()["refund_id"] != first.json()["refund_id"]
    assert refunds(simulator) == before + 2


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"order_id": "A-1002", "amount": 10, "reason": "x"}, 409),
        ({"order_id": "A-1001", "amount": 500, "reason": "x"}, 400),
        ({"order_id": "A-1001", "amount": "NaN", "reason": "x"}, 400),
        ({"order_id": "nope", "amount": 1, "reason": "x"}, 404),
    ],
)
def test_issue_refund_rejects_what_cannot_be_refunded(simulator, body, status):
    before = refunds(simulator)

    response = httpx.post(f"{simulator}/tools/issue_refund", json=body)

    assert response.status_code == status
    assert "error" in response.json()
    assert refunds(simulator) == before


def test_research_searches_three_times_then_summarises(provider, simulator):
    calls, answer = converse(provider, "research", "Vector databases", http_tools(simulator))

    assert [name for name, _ in calls] == ["search_web"] * 3
    assert calls[0][1] == {"query": "Vector databases"}
    assert answer.startswith("Summary on Vector databases")


def test_failing_tool_answers_that_inventory_is_unavailable(provider, simulator):
    assert httpx.post(f"{simulator}/tools/check_inventory", json={"sku": "SKU-7"}).status_code == 503

    calls, answer = converse(provider, "failing_tool", "Is SKU-7 in stock?", http_tools(simulator))

    assert calls == [("check_inventory", {"sku": "SKU-7"})]
    assert "unavailable" in answer


def test_loop_repeats_the_same_call_with_reworded_text(provider, simulator):
    messages = [{"role": "user", "content": "What is the capital of Australia?"}]
    texts, calls = [], []
    for _ in range(8):
        response = ask(provider, "loop", messages)
        texts.append(response.content)
        calls.extend((call.name, call.arguments) for call in response.tool_calls)
        messages.append(assistant_message(response))
        messages.append({"role": "tool", "tool_call_id": response.tool_calls[0].id, "content": "{}"})

    assert calls == [("search_web", {"query": "capital of Australia"})] * 8
    assert len(set(texts)) == 4
    assert all(text.startswith("The capital of Australia is Sydney") for text in texts)


def test_chain_takes_its_length_and_tool_from_the_model_name(provider):
    calls, answer = converse(provider, "chain?calls=4&tool=bench_tool", "go", lambda *_: '{"ok": true}')

    assert calls == [("bench_tool", {"i": i}) for i in (1, 2, 3, 4)]
    assert answer == "Done: called bench_tool 4 times."


def test_parallel_tool_calls_in_one_turn(provider):
    response = ask(provider, "parallel", [{"role": "user", "content": "look both up"}])

    assert [call.arguments for call in response.tool_calls] == [
        {"order_id": "A-1001"},
        {"order_id": "A-1003"},
    ]
    assert len({call.id for call in response.tool_calls}) == 2


def test_scripted_errors_are_served_n_times_then_the_scenario_continues(provider):
    messages = [{"role": "user", "content": "flaky conversation one"}]
    outcomes = []
    for _ in range(3):
        with pytest.raises(ProviderError) as caught:
            ask(provider, "flaky", messages)
        outcomes.append((caught.value.kind, caught.value.status, caught.value.retry_after_s))

    assert outcomes == [("rate_limit", 429, 3.0), ("rate_limit", 429, 3.0), ("transient", 500, None)]
    assert ask(provider, "flaky", messages).tool_calls[0].name == "lookup_order"
    assert ask(provider, "flaky", messages).tool_calls[0].name == "lookup_order"
    # Another conversation keeps its own count.
    with pytest.raises(ProviderError):
        ask(provider, "flaky", [{"role": "user", "content": "flaky conversation two"}])


def test_an_error_without_times_fails_every_call(provider):
    for _ in range(3):
        with pytest.raises(ProviderError) as caught:
            ask(provider, "down", [{"role": "user", "content": "hello"}])
        assert (caught.value.kind, caught.value.status) == ("transient", 503)


def test_latency_delays_the_reply(provider):
    response = ask(provider, "slow", [{"role": "user", "content": "hi"}])

    assert response.content == "finally"
    assert response.latency_ms >= 300


def test_latency_ms_in_the_model_name_delays_every_turn_of_any_scenario(provider):
    response = ask(provider, "chain?calls=1&tool=echo&latency_ms=400", [{"role": "user", "content": "go"}])

    assert response.tool_calls[0].name == "echo"
    assert response.latency_ms >= 400


@pytest.mark.parametrize("latency", ["-1", "abc", "600001"])
def test_a_latency_ms_out_of_range_is_a_400(provider, latency):
    with pytest.raises(ProviderError) as caught:
        ask(provider, f"echo?latency_ms={latency}", [{"role": "user", "content": "hi"}])

    assert (caught.value.kind, caught.value.status) == ("permanent", 400)
    assert "latency_ms" in str(caught.value)


def test_a_repeated_prefix_is_reported_as_cached(provider):
    messages = [
        {"role": "system", "content": LONG_SYSTEM_PROMPT},
        {"role": "user", "content": "Refund A-1001."},
    ]
    first = ask(provider, "refund", messages)
    messages += [
        assistant_message(first),
        {
            "role": "tool",
            "tool_call_id": first.tool_calls[0].id,
            "content": '{"amount": 49.99, "payment_status": "captured"}',
        },
    ]

    second = ask(provider, "refund", messages)

    assert first.usage.cached_input_tokens == 0
    assert first.usage.input_tokens > 1024
    assert second.usage.cached_input_tokens >= first.usage.input_tokens - 128
    assert second.usage.cached_input_tokens % 128 == 0
    assert second.usage.cached_input_tokens < second.usage.input_tokens


def test_unknown_scenario_is_a_404_in_openai_shape(provider, simulator):
    with pytest.raises(ProviderError) as caught:
        ask(provider, "no_such_scenario", [{"role": "user", "content": "hi"}])
    raw = httpx.post(f"{simulator}/v1/chat/completions", json={"model": "no_such_scenario", "messages": []})

    assert (caught.value.kind, caught.value.status) == ("permanent", 404)
    assert raw.status_code == 404
    assert raw.json()["error"]["code"] == "model_not_found"
    assert "no_such_scenario" in raw.json()["error"]["message"]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"messages": []}',
        b'{"model": "echo", "messages": "hi"}',
        b'{"model": "chain?nope=1", "messages": []}',
        b'{"model": "chain?calls=-1", "messages": []}',
    ],
)
def test_malformed_requests_get_a_400(simulator, body):
    response = httpx.post(f"{simulator}/v1/chat/completions", content=body)

    assert response.status_code == 400
    assert response.json()["error"]["message"]


def test_builtin_scenarios_are_valid():
    assert {"refund", "research", "failing_tool", "loop", "echo", "chain"} <= set(
        scenarios_load(folders=[BUILTIN_FOLDER])
    )


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({}, "turns: must be a non-empty list"),
        ({"turns": [{"answr": "hi"}]}, "turns[0]: unknown key 'answr'"),
        ({"turns": [{"tool": "x", "answer": "y"}]}, "turns[0]: needs exactly one of answer, tool or calls"),
        ({"turns": [{"error": 200}]}, "turns[0].error: must be an HTTP error status"),
        ({"turns": [{"answer": "{who}"}]}, "turns[0]: {who} is not a declared parameter"),
        ({"turns": [{"tool": "x", "repeat": "{calls}"}]}, "turns[0].repeat: must be a number or a declared"),
        (
            {"turns": [{"choose": [{"when": {"contains": "a"}, "answer": "b"}]}]},
            "the last alternative must have no `when`",
        ),
        ({"turns": [{"choose": [{"answer": "b"}, {"answer": "c"}]}]}, "only the last alternative may omit"),
        ({"extract": {"x": {"pattern": "a"}}, "turns": [{"answer": "hi"}]}, "extract.x: needs a default"),
        ({"turns": [{"answer": "hi", "repeat": 2}]}, "a final answer ends the conversation"),
    ],
)
def test_invalid_scenarios_fail_naming_the_place(data, problem):
    with pytest.raises(ScenarioError) as caught:
        scenario_parse(data, name="broken", source="broken.yaml")

    assert str(caught.value).startswith("broken.yaml: ")
    assert problem in str(caught.value)


def test_a_missing_scenario_folder_fails_loudly(tmp_path: Path):
    with pytest.raises(ScenarioError, match="does not exist"):
        scenarios_load(folders=[tmp_path / "missing"])


def test_odd_message_shapes_are_answered_not_crashed_on(simulator):
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "hi"}, "stray"]},
        {"role": "assistant", "content": {"not": "text"}, "tool_calls": "nonsense"},
        {"role": "user", "content": None},
    ]

    response = httpx.post(f"{simulator}/v1/chat/completions", json={"model": "echo", "messages": messages})

    assert response.status_code == 200
    assert response.json()["choices"][0]["finish_reason"] == "stop"

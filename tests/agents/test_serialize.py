"""The hand-written dict forms of a model's reply and a tool's result are what
dataclasses.asdict gives: every field, nothing more (a field added later must be added there)."""

from dataclasses import asdict

from agents.providers.base import ChatResponse, ToolCall, Usage
from agents.runtime.serialize import response_from_json, response_to_json
from agents.tools.result import ToolResult


def test_a_reply_is_stored_as_asdict_gives_it_and_read_back_whole():
    response = ChatResponse(
        content="calling",
        tool_calls=[
            ToolCall(id="c1", name="echo", arguments={"text": "hi", "n": [1, 2]}),
            ToolCall(id="c2", name="echo", arguments=None, raw_arguments="{not json"),
        ],
        usage=Usage(input_tokens=10, output_tokens=3, cached_input_tokens=4, cache_write_tokens=2),
        model="m",
        provider="simulator",
        finish_reason="tool_calls",
        latency_ms=12.5,
        response_id="r1",
        reasoning="because",
    )
    stored = response_to_json(response)
    assert stored == asdict(response)
    assert response_from_json(stored) == response


def test_a_tool_result_is_stored_as_asdict_gives_it_and_read_back_whole():
    result = ToolResult.error(
        "rate_limit", "slow down", retry_safe=True, retry_after_s=1.5, data={"left": [0, {"a": 1}]}
    )
    assert result.as_dict() == asdict(result)
    assert ToolResult.from_dict(result.as_dict()) == result
    assert ToolResult.success({"ok": True}).as_dict() == asdict(ToolResult.success({"ok": True}))

"""Playback: a task whose model replies or tool results are served from a recording.

Eval runs answer tools from recorded fixtures (no side effects) while the model runs live;
replays serve a recorded task's model replies and tool results back, so that the runtime's own
decisions (guards, the risk policy, loop detection) are made again over the same conversation;
an undo runs scripted replies whose tool calls are the compensations, with live tools.
`Task.playback` holds the recording (shape in docs/evals.md); `playback_validate` bounds it.
"""

import json
from dataclasses import dataclass, replace
from typing import Any

from agents.models import Task
from agents.providers.base import ChatResponse
from agents.runtime.serialize import response_from_json
from agents.tools.result import ToolResult
from core.errors import Invalid

# Bounds on what a client may record: a task runs at most max_iterations steps (a replay of
# any stored task fits), and a recording is stored in one row.
MAX_MODEL_REPLIES = 500
MAX_TOOL_RESULTS = 2_000
MAX_LIVE_TOOLS = 64
MAX_PLAYBACK_BYTES = 4_000_000

_KEYS = {"model_replies", "tool_results", "live_tools"}
_FIXTURE_KEYS = {"tool", "arguments", "step", "call", "result", "decision"}
_REPLY_KEYS = {"content", "tool_calls", "usage", "model", "provider", "finish_reason", "latency_ms"}

MISSING_FIXTURE = "no recorded result for this call"


class PlaybackExhausted(Exception):
    """A step past the last recorded model reply: the task cannot go on without a live model."""


@dataclass(frozen=True)
class Playback:
    model_replies: list[dict[str, Any]] | None = None
    tool_results: list[dict[str, Any]] | None = None
    live_tools: frozenset[str] = frozenset()

    @property
    def recorded_model(self) -> bool:
        return self.model_replies is not None

    @property
    def recorded_tools(self) -> bool:
        return self.tool_results is not None

    def reply(self, index: int) -> ChatResponse:
        """The recorded reply of step `index`: its content, tool calls and token counts as
        recorded, with no latency (no call was made)."""
        replies = self.model_replies or []
        if index >= len(replies):
            raise PlaybackExhausted(f"step {index} has no recorded model reply ({len(replies)} recorded)")
        return replace(response_from_json(replies[index]), latency_ms=0.0)

    def serves(self, tool_name: str) -> bool:
        """Whether a call of this tool is answered from the recording rather than run."""
        return self.recorded_tools and tool_name not in self.live_tools

    def fixture(self, *, step: int, call: int, tool_name: str, arguments: Any) -> dict[str, Any] | None:
        """The recorded result for a call: the fixture recorded at its position first, else the
        first one of the same tool whose arguments are equal (or not given)."""
        fixtures = self.tool_results or []
        for fixture in fixtures:
            if fixture.get("step") == step and fixture.get("call") == call and fixture["tool"] == tool_name:
                return fixture
        for fixture in fixtures:
            if fixture.get("step") is not None or fixture["tool"] != tool_name:
                continue
            if fixture.get("arguments") is None or fixture["arguments"] == arguments:
                return fixture
        return None

    def tool_result(self, *, step: int, call: int, tool_name: str, arguments: Any) -> ToolResult:
        fixture = self.fixture(step=step, call=call, tool_name=tool_name, arguments=arguments)
        if fixture is None:
            return ToolResult.error("permanent", MISSING_FIXTURE, data={"fixture": "missing"})
        return ToolResult.from_dict(fixture["result"])


_NONE = Playback()


def playback_of(task: Task) -> Playback:
    """The task's playback (the empty one for an ordinary task). Stored recordings were
    validated on the way in (playback_validate)."""
    data = task.playback
    if not data:
        return _NONE
    return Playback(
        model_replies=data.get("model_replies"),
        tool_results=data.get("tool_results"),
        live_tools=frozenset(data.get("live_tools") or ()),
    )


def playback_validate(data: Any) -> dict[str, Any]:
    """The recording if it is well formed and within bounds; raises Invalid naming what is not."""
    if not isinstance(data, dict):
        raise Invalid("playback must be an object", field="playback")
    unknown = set(data) - _KEYS
    if unknown:
        raise Invalid(f"playback has unknown keys: {sorted(unknown)}", field="playback")
    if len(json.dumps(data)) > MAX_PLAYBACK_BYTES:
        raise Invalid(f"playback is larger than {MAX_PLAYBACK_BYTES} bytes", field="playback")
    replies = data.get("model_replies")
    if replies is not None:
        _list_check(replies, "model_replies", MAX_MODEL_REPLIES)
        for index, reply in enumerate(replies):
            _reply_check(reply, index)
    fixtures = data.get("tool_results")
    if fixtures is not None:
        _list_check(fixtures, "tool_results", MAX_TOOL_RESULTS)
        for index, fixture in enumerate(fixtures):
            _fixture_check(fixture, index)
    live = data.get("live_tools")
    if live is not None:
        _list_check(live, "live_tools", MAX_LIVE_TOOLS)
        if not all(isinstance(name, str) and 0 < len(name) <= 64 for name in live):
            raise Invalid("live_tools must be tool names", field="playback.live_tools")
    return data


def _list_check(value: Any, name: str, limit: int) -> None:
    if not isinstance(value, list):
        raise Invalid(f"{name} must be a list", field=f"playback.{name}")
    if len(value) > limit:
        raise Invalid(f"{name} holds more than {limit} items", field=f"playback.{name}")


def _reply_check(reply: Any, index: int) -> None:
    field = f"playback.model_replies[{index}]"
    if not isinstance(reply, dict) or not set(reply) >= _REPLY_KEYS:
        raise Invalid(f"a recorded model reply needs the keys {sorted(_REPLY_KEYS)}", field=field)
    try:
        response_from_json(reply)
    except (TypeError, KeyError, ValueError) as error:
        raise Invalid(f"a recorded model reply is malformed: {error}", field=field) from None


def _fixture_check(fixture: Any, index: int) -> None:
    field = f"playback.tool_results[{index}]"
    if not isinstance(fixture, dict) or set(fixture) - _FIXTURE_KEYS:
        raise Invalid(f"a tool result fixture takes only the keys {sorted(_FIXTURE_KEYS)}", field=field)
    if not isinstance(fixture.get("tool"), str) or not fixture["tool"]:
        raise Invalid("a tool result fixture names its tool", field=field)
    if fixture.get("arguments") is not None and not isinstance(fixture["arguments"], dict):
        raise Invalid("a fixture's arguments are an object or null", field=field)
    for key in ("step", "call"):
        value = fixture.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise Invalid(f"a fixture's {key} is a non-negative integer", field=field)
    if (fixture.get("step") is None) != (fixture.get("call") is None):
        raise Invalid("a positional fixture names both its step and its call", field=field)
    if fixture.get("decision") is not None and not isinstance(fixture["decision"], str):
        raise Invalid("a fixture's decision is a string", field=field)
    result = fixture.get("result")
    if not isinstance(result, dict) or result.get("status") not in ("success", "error"):
        raise Invalid('a fixture\'s result is a tool result: {"status": "success"|"error"}', field=field)

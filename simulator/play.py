"""Answer one chat-completion request from a scenario.

The reply is derived from the request alone: the turn is the number of assistant messages
since the last user message, so any number of workers, a retried call and a redelivered
step all get the same answer. The one piece of state is how many scripted errors a
conversation has been served, kept per hash of the conversation.
"""

import hashlib
import json
import re
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from simulator.scenarios import PLACEHOLDER, Failure, Reply, Scalar, Scenario, Turn
from simulator.tokens import completion_tokens, prompt_usage

# Enough conversations for any benchmark; the oldest are forgotten first.
MAX_TRACKED_CONVERSATIONS = 100_000
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    latency_ms: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()


class BadRequest(Exception):
    """A request the simulator cannot answer, as an OpenAI-style error."""

    def __init__(self, status: int, message: str, *, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.answer = Answer(status, openai_error(message, code=code, param=param))


def openai_error(message: str, *, code: str, param: str | None = None, kind: str = "") -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": kind or "invalid_request_error",
            "param": param,
            "code": code,
        }
    }


class Player:
    def __init__(self, scenarios: dict[str, Scenario]) -> None:
        self.scenarios = scenarios
        self._failures_served: OrderedDict[str, int] = OrderedDict()

    def answer(self, request: dict[str, Any]) -> Answer:
        try:
            return self._answer(request)
        except BadRequest as exc:
            return exc.answer

    def _answer(self, request: dict[str, Any]) -> Answer:
        model = request.get("model")
        messages = request.get("messages")
        if not isinstance(model, str) or not model:
            raise BadRequest(400, "you must provide a model parameter", code="missing_model", param="model")
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise BadRequest(
                400, "messages must be a list of objects", code="invalid_messages", param="messages"
            )
        if request.get("stream"):
            raise BadRequest(400, "the simulator does not stream", code="unsupported", param="stream")
        name, _, query = model.partition("?")
        scenario = self.scenarios.get(name)
        if scenario is None:
            raise BadRequest(
                404,
                f"The model `{name}` does not exist: no scenario of that name is loaded",
                code="model_not_found",
                param="model",
            )
        query, latency_override = _latency_override(query)
        variables = _variables(scenario, query, messages)
        since_user = _assistants_since_last_user(messages)
        found = _turn_at(scenario, since_user, variables)
        if found is None:
            return self._reply(scenario, _finished(scenario), request, variables, n=1, latency_ms=0.0)
        turn, n = found
        latency_ms = scenario.latency_ms if turn.latency_ms is None else turn.latency_ms
        if latency_override is not None:
            latency_ms = latency_override
        failure = self._failure(turn, model, messages)
        if failure is not None:
            return _failure_answer(failure, latency_ms)
        if not turn.replies:
            return self._reply(scenario, _finished(scenario), request, variables, n=1, latency_ms=latency_ms)
        reply = _choose(turn.replies, _last_text(messages, "tool"))
        return self._reply(scenario, reply, request, variables, n=n, latency_ms=latency_ms)

    def _failure(self, turn: Turn, model: str, messages: list[dict[str, Any]]) -> Failure | None:
        """The scripted error this call gets, if the turn still has errors to serve."""
        if not turn.failures:
            return None
        key = hashlib.sha256(
            json.dumps([model, messages], sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        served = self._failures_served.get(key, 0)
        remaining = served
        for failure in turn.failures:
            if failure.times is None or remaining < failure.times:
                # No await between the read and this write: the event loop serialises them.
                self._failures_served[key] = served + 1
                self._failures_served.move_to_end(key)
                if len(self._failures_served) > MAX_TRACKED_CONVERSATIONS:
                    self._failures_served.popitem(last=False)
                return failure
            remaining -= failure.times
        return None

    def _reply(
        self,
        scenario: Scenario,
        reply: Reply,
        request: dict[str, Any],
        variables: dict[str, Scalar],
        *,
        n: int,
        latency_ms: float,
    ) -> Answer:
        values = {**variables, "n": n}
        messages = request["messages"]
        content = _fill(reply.content[(n - 1) % len(reply.content)], values) if reply.content else ""
        message: dict[str, Any] = {"role": "assistant", "content": content or None, "refusal": None}
        if reply.calls:
            seed = f"{_last_text(messages, 'user')}\x00{_count(messages, 'assistant')}"
            message["tool_calls"] = [
                {
                    "id": "call_" + hashlib.blake2b(f"{seed}\x00{i}".encode(), digest_size=12).hexdigest(),
                    "type": "function",
                    "function": {
                        "name": str(_fill(call.tool, values)),
                        "arguments": json.dumps(_fill(call.arguments, values)),
                    },
                }
                for i, call in enumerate(reply.calls)
            ]
        prompt, cached = prompt_usage(messages, request.get("tools"))
        completion = completion_tokens(message)
        body = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": scenario.name,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if reply.calls else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            },
            "system_fingerprint": "fp_simulator",
        }
        return Answer(200, body, latency_ms)


# Any scenario answers every turn after this long with `?latency_ms=N` in the model name: the
# benchmarks and tests run real-model latencies (1-5 s) without a scenario file per latency.
_MAX_LATENCY_MS = 600_000.0


def _latency_override(query: str) -> tuple[str, float | None]:
    pairs = parse_qsl(query, keep_blank_values=True)
    values = [raw for key, raw in pairs if key == "latency_ms"]
    if not values:
        return query, None
    try:
        latency = float(values[-1])
    except ValueError:
        latency = -1.0
    if not 0 <= latency <= _MAX_LATENCY_MS:
        raise BadRequest(
            400,
            f"latency_ms must be a number of milliseconds from 0 to {_MAX_LATENCY_MS:.0f}",
            code="invalid_parameter",
            param="model",
        )
    return urlencode([(key, raw) for key, raw in pairs if key != "latency_ms"]), latency


def _variables(scenario: Scenario, query: str, messages: list[dict[str, Any]]) -> dict[str, Scalar]:
    """Parameters: their defaults, then the model name's query (`chain?calls=5`), then extracts."""
    values = dict(scenario.params)
    for key, raw in parse_qsl(query, keep_blank_values=True):
        if key not in values:
            known = ", ".join(sorted(values)) or "none"
            raise BadRequest(
                400,
                f"scenario {scenario.name} has no parameter {key!r} (it has: {known})",
                code="unknown_parameter",
                param="model",
            )
        values[key] = _coerce(raw, like=values[key], key=key)
    for key, extract in scenario.extract.items():
        match = extract.pattern.search(_last_text(messages, extract.source))
        if match:
            text = next((group for group in match.groups() if group is not None), match.group(0))
            values[key] = _coerce(text, like=0.0, key=key) if extract.number else text
    return values


def _coerce(raw: str, *, like: Scalar, key: str) -> Scalar:
    if isinstance(like, bool):
        return raw.lower() in ("1", "true", "yes", "on")
    if isinstance(like, int | float):
        if not _NUMBER.match(raw.strip()):
            raise BadRequest(
                400,
                f"parameter {key!r} must be a number, got {raw!r}",
                code="invalid_parameter",
                param="model",
            )
        number = float(raw)
        return int(number) if isinstance(like, int) and number.is_integer() else number
    return raw


def _turn_at(scenario: Scenario, index: int, variables: dict[str, Scalar]) -> tuple[Turn, int] | None:
    """The turn that plays at `index`, and which repetition of it (1-based)."""
    for turn in scenario.turns:
        count = turn.repeat if isinstance(turn.repeat, int) else variables[turn.repeat[1:-1]]
        if not isinstance(count, int) or count < 0:
            raise BadRequest(
                400, f"repeat count {count!r} must be a whole number", code="invalid_parameter", param="model"
            )
        if index < count:
            return turn, index + 1
        index -= count
    return None


def _choose(replies: tuple[Reply, ...], last_tool_result: str) -> Reply:
    """The first alternative whose `when` matches; the last one has none and is the default."""
    lowered = last_tool_result.lower()
    return next((reply for reply in replies[:-1] if any(text in lowered for text in reply.when)), replies[-1])


def _finished(scenario: Scenario) -> Reply:
    return Reply(content=(f"[simulator] scenario {scenario.name} has no more turns.",))


def _failure_answer(failure: Failure, latency_ms: float) -> Answer:
    if failure.status == 429:
        kind, code = "requests", "rate_limit_exceeded"
    elif failure.status >= 500:
        kind, code = "server_error", "server_error"
    else:
        kind, code = "invalid_request_error", "simulated_error"
    message = failure.message or f"simulated HTTP {failure.status}"
    headers = () if failure.retry_after_s is None else (("retry-after", f"{failure.retry_after_s:g}"),)
    return Answer(failure.status, openai_error(message, code=code, kind=kind), latency_ms, headers)


def _fill(value: Any, values: dict[str, Scalar]) -> Any:
    """Replace {name} placeholders; a string that is only a placeholder keeps the value's type."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole and whole.group(1) in values:
            return values[whole.group(1)]
        return PLACEHOLDER.sub(lambda m: _as_text(values.get(m.group(1), m.group(0))), value)
    if isinstance(value, dict):
        return {key: _fill(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    return value


def _as_text(value: Scalar) -> str:
    # 249.0 reads as "249" in a sentence, as a person would write it.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _assistants_since_last_user(messages: list[dict[str, Any]]) -> int:
    count = 0
    for message in reversed(messages):
        role = message.get("role")
        if role == "user":
            break
        if role == "assistant":
            count += 1
    return count


def _count(messages: list[dict[str, Any]], role: str) -> int:
    return sum(1 for message in messages if message.get("role") == role)


def _last_text(messages: list[dict[str, Any]], role: str) -> str:
    for message in reversed(messages):
        if message.get("role") == role:
            return _text(message.get("content"))
    return ""


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""

"""Scenario files: load them from folders and validate them into immutable objects.

The format is described, with examples, in docs/simulator.md. Validation happens once at
start-up and names the file and the place in it, so a typo fails loudly instead of
surfacing as a strange reply in the middle of a benchmark.
"""

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

logger = logging.getLogger(__name__)

BUILTIN_FOLDER = Path(__file__).resolve().parent / "builtin_scenarios"
SUFFIXES = (".yaml", ".yml", ".json")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# `n` is the repetition number of a repeated turn, so it cannot be a parameter name.
RESERVED = frozenset({"n"})

Scalar = str | int | float | bool


class ScenarioError(ValueError):
    """A scenario file that cannot be used, with the file and the place in it."""


@dataclass(frozen=True)
class Call:
    tool: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """One assistant message: text and/or tool calls; no calls makes it a final answer."""

    content: tuple[str, ...] = ()  # several: one per repetition, in turn
    calls: tuple[Call, ...] = ()
    when: tuple[str, ...] = ()  # alternatives of `choose`: the last tool result contains one


@dataclass(frozen=True)
class Failure:
    status: int
    times: int | None  # None: this turn fails every time
    retry_after_s: float | None = None
    message: str = ""


@dataclass(frozen=True)
class Turn:
    replies: tuple[Reply, ...]  # one, or the alternatives of `choose` (first match wins)
    failures: tuple[Failure, ...] = ()
    repeat: int | str = 1  # a number or a "{param}"
    latency_ms: float | None = None


@dataclass(frozen=True)
class Extract:
    source: Literal["user", "tool"]
    pattern: re.Pattern[str]
    number: bool


@dataclass(frozen=True)
class Scenario:
    name: str
    turns: tuple[Turn, ...]
    description: str = ""
    latency_ms: float = 0.0
    params: dict[str, Scalar] = field(default_factory=dict)
    extract: dict[str, Extract] = field(default_factory=dict)
    path: str = ""


def scenarios_load(*, folders: list[Path]) -> dict[str, Scenario]:
    """Every scenario file in the folders, by name; a later folder overrides an earlier one."""
    scenarios: dict[str, Scenario] = {}
    for folder in folders:
        if not folder.is_dir():
            raise ScenarioError(f"scenario folder {folder} does not exist")
        for path in sorted(folder.iterdir()):
            if path.suffix not in SUFFIXES:
                continue
            scenario = scenario_load(path=path)
            if scenario.name in scenarios:
                logger.info(
                    "scenario %s from %s replaces %s", scenario.name, path, scenarios[scenario.name].path
                )
            scenarios[scenario.name] = scenario
    return scenarios


def scenario_names(*, folders: list[Path]) -> set[str]:
    """The names the scenario files in the folders are served under (a missing folder has none),
    without parsing them: the control plane asks this to refuse an unknown `sim/<name>`."""
    return {
        path.stem
        for folder in folders
        if folder.is_dir()
        for path in folder.iterdir()
        if path.suffix in SUFFIXES
    }


def scenario_load(*, path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot be read: {exc}") from exc
    return scenario_parse(data, name=path.stem, source=str(path))


def scenario_parse(data: Any, *, name: str, source: str) -> Scenario:
    """Validate one scenario's data (as loaded from YAML or JSON)."""
    if not NAME.match(name):
        raise ScenarioError(f"{source}: the name {name!r} is not usable as a model name")
    where = _Where(source)
    raw = where.mapping(data, "", {"description", "latency_ms", "params", "extract", "turns"})
    params = _params(raw.get("params", {}), where)
    extract = _extracts(raw.get("extract", {}), where, params)
    where.known = set(params) | RESERVED
    turns = _turns(raw.get("turns"), where, params)
    return Scenario(
        name=name,
        turns=turns,
        description=where.string(raw.get("description", ""), "description"),
        latency_ms=where.number(raw.get("latency_ms", 0), "latency_ms"),
        params=params,
        extract=extract,
        path=source,
    )


class _Where:
    """Type checks that name the file and the place in it."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.known: set[str] = set()  # the names a {placeholder} may use

    def fail(self, at: str, problem: str) -> ScenarioError:
        return ScenarioError(f"{self.source}: {at or 'top level'}: {problem}")

    def mapping(self, value: Any, at: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(at, "must be a mapping")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.fail(at, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
        return value

    def string(self, value: Any, at: str) -> str:
        if not isinstance(value, str):
            raise self.fail(at, "must be a string")
        return value

    def number(self, value: Any, at: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise self.fail(at, "must be a number, 0 or more")
        return float(value)


def _params(value: Any, where: _Where) -> dict[str, Scalar]:
    params = where.mapping(value, "params", set(value) if isinstance(value, dict) else set())
    for key, default in params.items():
        if not isinstance(key, str) or not PLACEHOLDER.fullmatch("{" + key + "}") or key in RESERVED:
            raise where.fail(f"params.{key}", "is not a usable parameter name")
        if not isinstance(default, str | int | float | bool):
            raise where.fail(f"params.{key}", "must have a string, number or boolean default")
    return dict(params)


def _extracts(value: Any, where: _Where, params: dict[str, Scalar]) -> dict[str, Extract]:
    raw = where.mapping(value, "extract", set(value) if isinstance(value, dict) else set())
    extracts = {}
    for key, spec in raw.items():
        at = f"extract.{key}"
        if key not in params:
            raise where.fail(at, "needs a default in params, used when the pattern does not match")
        spec = where.mapping(spec, at, {"from", "pattern", "type"})
        source = spec.get("from", "user")
        if source not in ("user", "tool"):
            raise where.fail(f"{at}.from", "must be user or tool")
        kind = spec.get("type", "string")
        if kind not in ("string", "number"):
            raise where.fail(f"{at}.type", "must be string or number")
        try:
            pattern = re.compile(where.string(spec.get("pattern"), f"{at}.pattern"))
        except re.error as exc:
            raise where.fail(f"{at}.pattern", f"is not a regular expression: {exc}") from exc
        extracts[key] = Extract(source=source, pattern=pattern, number=kind == "number")
    return extracts


def _turns(value: Any, where: _Where, params: dict[str, Scalar]) -> tuple[Turn, ...]:
    if not isinstance(value, list) or not value:
        raise where.fail("turns", "must be a non-empty list")
    turns: list[Turn] = []
    failures: list[Failure] = []
    for index, item in enumerate(value):
        at = f"turns[{index}]"
        if isinstance(item, dict) and "error" in item:
            failures.append(_failure(item, where, at))
            continue
        item = where.mapping(
            item, at, {"answer", "tool", "arguments", "calls", "content", "choose", "repeat", "latency_ms"}
        )
        if "choose" in item:
            if item.keys() & {"answer", "tool", "arguments", "calls", "content"}:
                raise where.fail(at, "choose cannot be combined with a reply of its own")
            replies = _alternatives(item["choose"], where, f"{at}.choose")
        else:
            replies = (_reply(item, where, at),)
        if not replies[0].calls and len(replies) == 1 and "repeat" in item:
            raise where.fail(f"{at}.repeat", "a final answer ends the conversation and cannot repeat")
        latency = item.get("latency_ms")
        turns.append(
            Turn(
                replies=replies,
                failures=tuple(failures),
                repeat=_repeat(item.get("repeat", 1), where, f"{at}.repeat", params),
                latency_ms=None if latency is None else where.number(latency, f"{at}.latency_ms"),
            )
        )
        failures = []
    if failures:
        # Errors after the last reply: that turn fails (a model that is down for good).
        turns.append(Turn(replies=(), failures=tuple(failures)))
    return tuple(turns)


def _failure(item: dict[str, Any], where: _Where, at: str) -> Failure:
    item = where.mapping(item, at, {"error", "times", "retry_after", "message"})
    status = item["error"]
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise where.fail(f"{at}.error", "must be an HTTP error status (400-599)")
    times = item.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise where.fail(f"{at}.times", "must be a whole number, 1 or more")
    retry_after = item.get("retry_after")
    return Failure(
        status=status,
        times=times,
        retry_after_s=None if retry_after is None else where.number(retry_after, f"{at}.retry_after"),
        message=where.string(item.get("message", ""), f"{at}.message"),
    )


def _alternatives(value: Any, where: _Where, at: str) -> tuple[Reply, ...]:
    if not isinstance(value, list) or not value:
        raise where.fail(at, "must be a non-empty list of replies")
    replies = []
    for index, item in enumerate(value):
        item_at = f"{at}[{index}]"
        item = where.mapping(item, item_at, {"when", "answer", "tool", "arguments", "calls", "content"})
        when: tuple[str, ...] = ()
        if "when" in item:
            condition = where.mapping(item["when"], f"{item_at}.when", {"contains"})
            contains = condition.get("contains")
            texts = [contains] if isinstance(contains, str) else contains
            if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t for t in texts):
                raise where.fail(f"{item_at}.when.contains", "must be a string or a list of strings")
            when = tuple(t.lower() for t in texts)
        elif index != len(value) - 1:
            raise where.fail(item_at, "only the last alternative may omit `when`")
        replies.append(_reply({k: v for k, v in item.items() if k != "when"}, where, item_at, when))
    if replies[-1].when:
        raise where.fail(at, "the last alternative must have no `when`: it is the reply when none matches")
    return tuple(replies)


def _reply(item: dict[str, Any], where: _Where, at: str, when: tuple[str, ...] = ()) -> Reply:
    reply = _reply_fields(item, where, at, when)
    _check_placeholders(reply, where, at)
    return reply


def _reply_fields(item: dict[str, Any], where: _Where, at: str, when: tuple[str, ...]) -> Reply:
    kinds = [key for key in ("answer", "tool", "calls") if key in item]
    if len(kinds) != 1:
        raise where.fail(at, "needs exactly one of answer, tool or calls")
    if "answer" in item:
        if item.keys() & {"arguments", "content"}:
            raise where.fail(at, "an answer takes no arguments or content")
        return Reply(content=_content(item["answer"], where, f"{at}.answer"), when=when)
    if "tool" in item:
        calls: tuple[Call, ...] = (_call(item, where, at),)
    else:
        if "arguments" in item:
            raise where.fail(at, "arguments belong inside each of calls")
        raw_calls = item["calls"]
        if not isinstance(raw_calls, list) or not raw_calls:
            raise where.fail(f"{at}.calls", "must be a non-empty list")
        calls = tuple(
            _call(where.mapping(call, f"{at}.calls[{i}]", {"tool", "arguments"}), where, f"{at}.calls[{i}]")
            for i, call in enumerate(raw_calls)
        )
    content = _content(item["content"], where, f"{at}.content") if "content" in item else ()
    return Reply(content=content, calls=calls, when=when)


def _call(item: dict[str, Any], where: _Where, at: str) -> Call:
    name = where.string(item.get("tool"), f"{at}.tool")
    if not name:
        raise where.fail(f"{at}.tool", "must name a tool")
    arguments = item.get("arguments", {})
    if not isinstance(arguments, dict):
        raise where.fail(f"{at}.arguments", "must be a mapping")
    return Call(tool=name, arguments=arguments)


def _content(value: Any, where: _Where, at: str) -> tuple[str, ...]:
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise where.fail(at, "must be a string or a non-empty list of strings")
    return tuple(texts)


def _repeat(value: Any, where: _Where, at: str, params: dict[str, Scalar]) -> int | str:
    if isinstance(value, str):
        match = PLACEHOLDER.fullmatch(value)
        if not match or match.group(1) not in params:
            raise where.fail(at, "must be a number or a declared parameter such as '{calls}'")
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise where.fail(at, "must be a whole number, 1 or more")
    return value


def _check_placeholders(reply: Reply, where: _Where, at: str) -> None:
    """Every {name} in a reply must be a parameter or `n`: a typo would otherwise be sent as is."""
    texts = list(reply.content)
    for call in reply.calls:
        texts.append(call.tool)
        texts.extend(_strings(call.arguments))
    for text in texts:
        for name in PLACEHOLDER.findall(text):
            if name not in where.known:
                raise where.fail(at, f"{{{name}}} is not a declared parameter")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []

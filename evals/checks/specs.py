"""Validating a case's check specs when it is saved: shapes, sizes, CEL limits, judge models.

A spec is one of:
- {"kind": "tool_calls", "calls": [{"tool", "args"?}], "mode": "ordered" | "set", "only": bool}
- {"kind": "cel", "expr": "<CEL>"}
- {"kind": "judge", "rubric": "<text>", "model": "<routed model name>"}
each with an optional "name". Raises Invalid naming the check and what is wrong.
"""

import json
from typing import Any

from agents.providers.admission import model_refusal
from core.cel.conditions import ConditionError, condition_check
from core.errors import Invalid
from evals.checks.tool_calls import OPERATORS, is_operator_object
from evals.limits import (
    MAX_ARG_CONSTRAINTS,
    MAX_CHECK_CHARS,
    MAX_CHECKS_PER_CASE,
    MAX_EXPECTED_CALLS,
    MAX_JSON_DEPTH,
    MAX_NAME_CHARS,
    MAX_RUBRIC_CHARS,
)

KINDS = ("tool_calls", "cel", "judge")
_KEYS = {
    "tool_calls": {"kind", "name", "calls", "mode", "only"},
    "cel": {"kind", "name", "expr"},
    "judge": {"kind", "name", "rubric", "model"},
}


def checks_validate(checks: Any) -> list[dict[str, Any]]:
    """The specs, normalised (defaults filled in); Invalid for anything wrong."""
    if not isinstance(checks, list):
        raise Invalid("checks must be a list", field="checks")
    if len(checks) > MAX_CHECKS_PER_CASE:
        raise Invalid(f"a case has at most {MAX_CHECKS_PER_CASE} checks", field="checks")
    return [_check(spec, f"checks[{index}]") for index, spec in enumerate(checks)]


def _check(spec: Any, at: str) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise Invalid(f"{at} must be an object", field="checks")
    if len(json.dumps(spec, default=str)) > MAX_CHECK_CHARS:
        raise Invalid(f"{at} is over {MAX_CHECK_CHARS} characters as JSON", field="checks")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise Invalid(f"{at}.kind must be one of {', '.join(KINDS)}", field="checks")
    unknown = set(spec) - _KEYS[kind]
    if unknown:
        raise Invalid(f"{at}: unknown key {sorted(unknown)[0]!r} for a {kind} check", field="checks")
    name = spec.get("name", "")
    if not isinstance(name, str) or len(name) > MAX_NAME_CHARS:
        raise Invalid(f"{at}.name must be a string of at most {MAX_NAME_CHARS} characters", field="checks")
    if kind == "tool_calls":
        return {"kind": kind, "name": name, **_tool_calls(spec, at)}
    if kind == "cel":
        expr = spec.get("expr")
        if not isinstance(expr, str) or not expr.strip():
            raise Invalid(f"{at}.expr must be a CEL expression", field="checks")
        try:
            condition_check(expr)
        except ConditionError as exc:
            raise Invalid(f"{at}.expr: {exc}", field="checks") from exc
        return {"kind": kind, "name": name, "expr": expr}
    rubric, model = spec.get("rubric"), spec.get("model")
    if not isinstance(rubric, str) or not rubric.strip() or len(rubric) > MAX_RUBRIC_CHARS:
        raise Invalid(f"{at}.rubric must be text of at most {MAX_RUBRIC_CHARS} characters", field="checks")
    if not isinstance(model, str) or len(model) > 200:
        raise Invalid(f"{at}.model must be a model name such as sim/judge", field="checks")
    refusal = model_refusal(model)
    if refusal is not None:
        raise Invalid(f"{at}.model: {refusal}", field="checks")
    return {"kind": kind, "name": name, "rubric": rubric, "model": model}


def _tool_calls(spec: dict[str, Any], at: str) -> dict[str, Any]:
    mode = spec.get("mode", "set")
    if mode not in ("ordered", "set"):
        raise Invalid(f"{at}.mode must be ordered or set", field="checks")
    only = spec.get("only", False)
    if not isinstance(only, bool):
        raise Invalid(f"{at}.only must be true or false", field="checks")
    calls = spec.get("calls")
    if not isinstance(calls, list) or len(calls) > MAX_EXPECTED_CALLS:
        raise Invalid(f"{at}.calls must be a list of at most {MAX_EXPECTED_CALLS} calls", field="checks")
    normalised = []
    for index, call in enumerate(calls):
        where = f"{at}.calls[{index}]"
        if not isinstance(call, dict) or set(call) - {"tool", "args"}:
            raise Invalid(f"{where} must be {{tool, args}}", field="checks")
        tool = call.get("tool")
        if not isinstance(tool, str) or not tool or len(tool) > 64:
            raise Invalid(f"{where}.tool must be a tool name", field="checks")
        args = call.get("args") or {}
        if not isinstance(args, dict) or len(args) > MAX_ARG_CONSTRAINTS:
            raise Invalid(
                f"{where}.args must be an object of at most {MAX_ARG_CONSTRAINTS} arguments", field="checks"
            )
        for arg, want in args.items():
            _constraint(want, f"{where}.args.{arg}")
        normalised.append({"tool": tool, "args": args})
    return {"calls": normalised, "mode": mode, "only": only}


def _constraint(want: Any, at: str) -> None:
    if _depth(want) > MAX_JSON_DEPTH:
        raise Invalid(f"{at} nests deeper than {MAX_JSON_DEPTH}", field="checks")
    if not is_operator_object(want):
        return
    for op, operand in want.items():
        if op not in OPERATORS:
            raise Invalid(
                f"{at}: unknown operator {op!r} (known: {', '.join(sorted(OPERATORS))})", field="checks"
            )
        if op in ("$lt", "$lte", "$gt", "$gte") and (
            not isinstance(operand, int | float) or isinstance(operand, bool)
        ):
            raise Invalid(f"{at}.{op} must be a number", field="checks")
        if op == "$in" and not isinstance(operand, list):
            raise Invalid(f"{at}.$in must be a list", field="checks")
        if op == "$exists" and not isinstance(operand, bool):
            raise Invalid(f"{at}.$exists must be true or false", field="checks")


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(item, level + 1) for item in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(item, level + 1) for item in value), default=level + 1)
    return level

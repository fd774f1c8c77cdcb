"""The expected tool calls of a case: names and argument constraints, in order or as a set.

An expected call's `args` maps an argument to a literal (equal) or to operators, an object
whose keys all start with `$`: `$eq $ne $lt $lte $gt $gte` (numbers for the orderings), `$in`
(a list of allowed values), `$contains` (a substring of a string argument or an item of a list
argument), `$exists` (true or false). Arguments not named are not constrained.
"""

from typing import Any

OPERATORS = frozenset({"$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$in", "$contains", "$exists"})
_ORDERINGS = {
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
}
_MISSING = object()


def is_operator_object(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(str(key).startswith("$") for key in value)


def tool_calls_check(spec: dict[str, Any], calls: list[dict[str, Any]]) -> tuple[bool, str]:
    """(passed, why not). `spec`: {"calls": [{"tool", "args"?}], "mode": "ordered"|"set",
    "only": bool} as validated by evals.checks.specs."""
    expected = spec["calls"]
    if spec.get("mode", "set") == "ordered":
        passed, detail = _ordered(expected, calls)
    else:
        passed, detail = _as_set(expected, calls)
    if passed and spec.get("only") and len(calls) != len(expected):
        names = ", ".join(call["tool"] for call in calls[:20])
        return False, f"expected exactly {len(expected)} calls, the task made {len(calls)}: {names}"
    return passed, detail


def call_matches(expected: dict[str, Any], call: dict[str, Any]) -> bool:
    if expected["tool"] != call["tool"]:
        return False
    args = call.get("args") or {}
    return all(
        _arg_matches(args.get(name, _MISSING), want) for name, want in (expected.get("args") or {}).items()
    )


def _arg_matches(value: Any, want: Any) -> bool:
    if not is_operator_object(want):
        return value is not _MISSING and _equal(value, want)
    for op, operand in want.items():
        if op == "$exists":
            if (value is not _MISSING) != bool(operand):
                return False
            continue
        if value is _MISSING:
            return False
        if op == "$eq" and not _equal(value, operand):
            return False
        if op == "$ne" and _equal(value, operand):
            return False
        if op in _ORDERINGS and not (_number(value) and _number(operand) and _ORDERINGS[op](value, operand)):
            return False
        if op == "$in" and not any(_equal(value, item) for item in operand):
            return False
        if op == "$contains" and not _contains(value, operand):
            return False
    return True


def _equal(a: Any, b: Any) -> bool:
    # JSON equality: 1 == 1.0, but true is not 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _contains(value: Any, operand: Any) -> bool:
    if isinstance(value, str):
        return isinstance(operand, str) and operand in value
    if isinstance(value, list):
        return any(_equal(item, operand) for item in value)
    return False


def _ordered(expected: list[dict[str, Any]], calls: list[dict[str, Any]]) -> tuple[bool, str]:
    """Each expected call after the previous one's match (other calls may come between)."""
    position = 0
    for number, want in enumerate(expected, 1):
        while position < len(calls) and not call_matches(want, calls[position]):
            position += 1
        if position == len(calls):
            return False, f"expected call {number} ({_describe(want)}) was not made in order"
        position += 1
    return True, ""


def _as_set(expected: list[dict[str, Any]], calls: list[dict[str, Any]]) -> tuple[bool, str]:
    """Each expected call matched by a call of its own, in any order (a bipartite matching:
    a greedy pass could give a call to the wrong expectation)."""
    candidates = [[i for i, call in enumerate(calls) if call_matches(want, call)] for want in expected]
    owner: dict[int, int] = {}

    def assign(want: int, seen: set[int]) -> bool:
        for call in candidates[want]:
            if call in seen:
                continue
            seen.add(call)
            if call not in owner or assign(owner[call], seen):
                owner[call] = want
                return True
        return False

    for number, want in enumerate(expected):
        if not assign(number, set()):
            return False, f"expected call {number + 1} ({_describe(want)}) was not made"
    return True, ""


def _describe(want: dict[str, Any]) -> str:
    args = want.get("args")
    text = f"{want['tool']} with {args}" if args else want["tool"]
    return text if len(text) <= 200 else text[:200] + "…"

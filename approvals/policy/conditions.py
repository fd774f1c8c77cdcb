"""Rule conditions in CEL (Common Expression Language), evaluated by a library, never by eval."""

from functools import lru_cache
from typing import Any

import cel


class ConditionError(ValueError):
    """A condition that does not compile."""


@lru_cache(maxsize=1024)
def condition_compile(source: str) -> Any:
    try:
        return cel.compile(source)
    except ValueError as exc:
        raise ConditionError(str(exc).splitlines()[0]) from exc


def condition_check(source: str) -> None:
    """Raise ConditionError if `source` is not a CEL expression (the admin sees why)."""
    condition_compile(source)


def condition_matches(source: str, *, args: dict[str, Any], tool: str, agent: str) -> tuple[bool, str]:
    """(matched, error). A condition that fails at run time (a missing key, mismatched types,
    a non-boolean result) does not match; the error is recorded with the decision.
    """
    if not source.strip():
        return True, ""
    try:
        value = condition_compile(source).execute({"args": args, "tool": tool, "agent": agent})
    except ConditionError as exc:
        return False, str(exc)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    if not isinstance(value, bool):
        return False, f"the condition gave {type(value).__name__}, not a boolean"
    return value, ""

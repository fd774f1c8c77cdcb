"""JSON Schema's regular expressions run by RE2: linear time whatever the pattern and input.

jsonschema runs `pattern`, `patternProperties` (and `additionalProperties` beside them) with
Python's backtracking `re`: a tool schema's "^(a+)+$" against 40 characters from a model
holds a worker for minutes. The validator classes here run those keywords with RE2 instead;
a pattern RE2 cannot compile (backreferences, lookaround) is refused when the tool is
registered. `unevaluatedProperties` would still run its patterns with `re`, so it is refused
beside `patternProperties` (see regex_problems).
"""

import copy
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

import re2
from jsonschema import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is reported to the admin, not to stderr

Keyword = Callable[[Any, Any, Any, dict[str, Any]], Iterator[ValidationError]]


class PatternError(ValueError):
    """A pattern RE2 cannot compile."""


@lru_cache(maxsize=4096)
def re2_compiled(pattern: str) -> Any:
    try:
        return re2.compile(pattern, options=_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        raise PatternError(f"{pattern!r} is not a regex RE2 can run ({reason})") from exc


def regex_problems(schema: Any) -> list[str]:
    """Patterns of `schema` that RE2 cannot run, and keyword pairs that would run `re`."""
    problems = []
    uses_pattern_properties = uses_unevaluated = False
    pending = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        if not isinstance(node, dict):
            continue
        patterns = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        if isinstance(node.get("patternProperties"), dict):
            uses_pattern_properties = True
            patterns.extend(node["patternProperties"])
        uses_unevaluated = uses_unevaluated or "unevaluatedProperties" in node
        for pattern in patterns:
            try:
                re2_compiled(pattern)
            except PatternError as exc:
                problems.append(f"parameters: pattern {exc}")
        pending.extend(node.values())
    if uses_pattern_properties and uses_unevaluated:
        problems.append("parameters: unevaluatedProperties cannot be combined with patternProperties")
    return problems


@lru_cache(maxsize=16)
def re2_validator_class(cls: type[Validator]) -> type[Validator]:
    """`cls` with its regular-expression keywords and its "regex" format run by RE2."""
    keywords: dict[str, Keyword] = {"pattern": _pattern, "patternProperties": _pattern_properties}
    if "additionalProperties" in cls.VALIDATORS:
        keywords["additionalProperties"] = _additional_properties(cls.VALIDATORS["additionalProperties"])
    formats = copy.copy(cls.FORMAT_CHECKER)
    formats.checkers = dict(formats.checkers)
    if "regex" in formats.checkers:
        formats.checkers["regex"] = (_is_regex, PatternError)
    return extend(
        cls,
        {name: keyword for name, keyword in keywords.items() if name in cls.VALIDATORS},
        format_checker=formats,
    )


def _is_regex(instance: object) -> bool:
    return not isinstance(instance, str) or re2_compiled(instance) is not None


def _pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not re2_compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        regex = re2_compiled(pattern)
        for key, value in instance.items():
            if regex.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(original: Keyword) -> Keyword:
    def additional_properties(
        validator: Any, additional: Any, instance: Any, schema: dict[str, Any]
    ) -> Iterator[ValidationError]:
        if "patternProperties" not in schema or not validator.is_type(instance, "object"):
            yield from original(validator, additional, instance, schema)
            return
        regexes = [re2_compiled(pattern) for pattern in schema["patternProperties"]]
        properties = schema.get("properties", {})
        extras = sorted(
            key for key in instance if key not in properties and not any(r.search(key) for r in regexes)
        )
        if validator.is_type(additional, "object"):
            for extra in extras:
                yield from validator.descend(instance[extra], additional, path=extra)
        elif not additional and extras:
            joined = ", ".join(repr(extra) for extra in extras)
            listed = ", ".join(repr(pattern) for pattern in sorted(schema["patternProperties"]))
            verb = "does" if len(extras) == 1 else "do"
            yield ValidationError(f"{joined} {verb} not match any of the regexes: {listed}")

    return additional_properties

"""JSON Schema for tool arguments: checking a tool's schema, and validating a model's arguments.

Regular expressions in schemas run under RE2 (agents/tools/schema_regex.py), never Python's
backtracking `re`.

Validators are compiled once per distinct schema (keyed by its canonical JSON, since every
Tool row fetched from the database is a fresh dict) because argument validation runs on every
tool call.
"""

import json
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from agents.tools.schema_regex import re2_validator_class, regex_problems

# Shown to the model at most this many at a time: enough to fix a call, short enough to read.
MAX_REPORTED_ERRORS = 5
MAX_MESSAGE_CHARS = 300

# Bounds on a registered schema: far above any real tool's, far below what slows a worker.
MAX_SCHEMA_CHARS = 64_000
MAX_SCHEMA_DEPTH = 32

# An empty `parameters` means "takes no arguments" in OpenAI's and Anthropic's tool formats.
EMPTY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


class ToolSchemaError(Exception):
    """A tool's own parameter schema is unusable: an admin has to fix the tool, not the model."""


def tool_parameters_check(schema: Any) -> list[str]:
    """Problems that make `schema` unusable as a tool's parameters; empty when it is fine."""
    if not isinstance(schema, dict):
        return ["parameters must be a JSON object (a JSON Schema)"]
    if len(json.dumps(schema)) > MAX_SCHEMA_CHARS:
        return [f"parameters: the schema is longer than {MAX_SCHEMA_CHARS} characters of JSON"]
    if _depth(schema) > MAX_SCHEMA_DEPTH:
        return [f"parameters: the schema is nested deeper than {MAX_SCHEMA_DEPTH} levels"]
    if "$schema" in schema:
        dialect = schema["$schema"]
        # Unknown dialects would silently be validated as another draft than the author meant.
        if not isinstance(dialect, str) or validator_for(schema, default=None) is None:
            return [f"parameters['$schema']: {dialect!r} is not a JSON Schema dialect this server knows"]
    problems = regex_problems(schema)
    if problems:
        return problems
    cls = re2_validator_class(validator_for(schema, default=Draft202012Validator))
    meta = cls(cls.META_SCHEMA, format_checker=cls.FORMAT_CHECKER)
    try:
        errors = [f"{_schema_path(e.absolute_path)}: {e.message}" for e in meta.iter_errors(schema)]
    except RecursionError:
        return ["parameters are nested too deeply"]
    if errors:
        return errors
    if schema and schema.get("type") != "object":
        # Model providers pass arguments as one JSON object, so the root must describe one.
        errors.append('parameters: the root must have "type": "object"')
    errors.extend(_reference_errors(schema))
    return errors


def arguments_errors(schema: dict[str, Any], arguments: dict[str, Any]) -> list[str]:
    """Why `arguments` do not match `schema`, one message per problem naming the field.

    Raises ToolSchemaError when the schema itself is broken (it was never checked, or a
    `$ref` points nowhere).
    """
    validator = _compiled(json.dumps(schema or EMPTY_PARAMETERS, sort_keys=True))
    try:
        errors = sorted(validator.iter_errors(arguments), key=lambda e: list(map(str, e.absolute_path)))
    except Unresolvable as exc:
        raise ToolSchemaError(f"the tool's parameter schema has an unresolvable $ref: {exc}") from exc
    except RecursionError:
        return ["arguments: nested too deeply"]
    return [_argument_message(error) for error in errors[:MAX_REPORTED_ERRORS]]


@lru_cache(maxsize=1024)
def _compiled(canonical_schema: str) -> Validator:
    schema = json.loads(canonical_schema)
    # Tools registered before patterns were checked: refused here rather than run by `re`.
    problems = regex_problems(schema)
    if problems:
        raise ToolSchemaError("the tool's parameter schema is unusable: " + "; ".join(problems))
    cls = re2_validator_class(validator_for(schema, default=Draft202012Validator))
    try:
        cls.check_schema(schema, format_checker=cls.FORMAT_CHECKER)
    except SchemaError as exc:
        raise ToolSchemaError(f"the tool's parameter schema is invalid: {exc.message}") from exc
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _argument_message(error: Any) -> str:
    message = error.message
    if len(message) > MAX_MESSAGE_CHARS:
        # The message quotes the offending value, as long as the model made it: name the
        # rule it broke instead.
        rule = json.dumps({error.validator: error.validator_value}, default=str)[:MAX_MESSAGE_CHARS]
        message = f"the value does not satisfy {rule}"
    return f"{_field_name(error.absolute_path)}: {message}"


def _field_name(path: Any) -> str:
    parts = [f"[{part}]" if isinstance(part, int) else f".{part}" for part in path]
    return "".join(parts).lstrip(".") or "arguments"


def _schema_path(path: Any) -> str:
    return "parameters" + "".join(f"[{part!r}]" for part in path)


def _reference_errors(schema: dict[str, Any]) -> list[str]:
    """Every `$ref` must point inside the schema: nothing is ever fetched from the network."""
    root = Resource.from_contents(schema, default_specification=DRAFT202012)
    resolver = Registry().resolver_with_root(root)
    errors = []
    for ref in _refs(schema):
        if not ref.startswith("#"):
            errors.append(f"parameters: $ref {ref!r} must point inside the schema (start with '#')")
            continue
        try:
            resolver.lookup(ref)
        except Unresolvable:
            errors.append(f"parameters: $ref {ref!r} points to nothing in the schema")
    return errors


def _depth(node: Any) -> int:
    deepest, pending = 0, [(node, 1)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            pending.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            pending.extend((child, depth + 1) for child in node)
    return deepest


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        for value in node.values():
            found.extend(_refs(value))
        return found
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []

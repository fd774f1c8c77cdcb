"""The executor: arguments validated before any call, results ordered, never an exception."""

import itertools
import uuid

import pytest

from agents.models import Tool
from agents.tools.executor import (
    tool_call_execute,
    tool_call_idempotency_key,
    tool_spec,
    tool_unknown_result,
)
from agents.tools.ordering import result_order
from agents.tools.python import python_tool
from agents.tools.schema import tool_parameters_check
from tests.agents.test_tool_http import tool_server  # noqa: F401  (the fixture)

REFUND_PARAMETERS = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string", "minLength": 1},
        "amount": {"type": "number", "exclusiveMinimum": 0},
        "items": {"type": "array", "items": {"type": "object", "required": ["sku"]}},
    },
    "required": ["order_id", "amount"],
    "additionalProperties": False,
}


@python_tool(
    name="test_executor_raises",
    description="raises a KeyError from deep inside",
    parameters={"type": "object"},
)
def raising_tool(args, *, idempotency_key):
    return {}["missing-key"]


@python_tool(
    name="test_executor_shuffled",
    description="returns records in whatever order",
    parameters={"type": "object", "properties": {"order": {"type": "array"}}},
)
def shuffled_tool(args, *, idempotency_key):
    return [{"id": i, "v": f"r{i}"} for i in args["order"]]


def refund_tool(server) -> Tool:
    return server.tool("/ok", parameters=REFUND_PARAMETERS)


def execute(tool: Tool, arguments, raw: str = ""):
    return tool_call_execute(tool=tool, arguments=arguments, raw_arguments=raw, idempotency_key="k")


@pytest.mark.parametrize(
    ("arguments", "raw", "field"),
    [
        ({"amount": 5}, "", "order_id"),
        ({"order_id": "A1", "amount": "five"}, "", "amount"),
        ({"order_id": "A1", "amount": -3}, "", "amount"),
        ({"order_id": "A1", "amount": 5, "note": "x"}, "", "note"),
        ({"order_id": "A1", "amount": 5, "items": [{"sku": "a"}, {}]}, "", "items[1]"),
        (None, '{"order_id": "A1", "amount": ', "not valid JSON"),
        (None, '["A1", 5]', "must be a JSON object, not an array"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(tool_server, arguments, raw, field):  # noqa: F811
    result = execute(refund_tool(tool_server), arguments, raw)

    assert (result.status, result.error_type, result.retry_safe) == ("error", "permanent", False)
    assert field in result.message
    assert tool_server.received == [], "the tool's server never heard of the call"


def test_valid_arguments_reach_the_tool(tool_server):  # noqa: F811
    result = execute(refund_tool(tool_server), {"order_id": "A1", "amount": 12.5})

    assert result.status == "success"
    assert [r.body for r in tool_server.received] == [{"order_id": "A1", "amount": 12.5}]


def test_unparsed_but_valid_raw_arguments_are_used(tool_server):  # noqa: F811
    result = execute(refund_tool(tool_server), None, '{"order_id": "A1", "amount": 1}')

    assert result.status == "success"
    assert tool_server.received[0].body == {"order_id": "A1", "amount": 1}


def test_no_arguments_at_all_mean_an_empty_object(tool_server):  # noqa: F811
    result = execute(tool_server.tool("/ok", parameters={}), None, "  ")

    assert result.status == "success"
    assert tool_server.received[0].body == {}


def test_a_tool_with_a_broken_schema_is_reported_for_an_admin_not_the_model(tool_server):  # noqa: F811
    tool = tool_server.tool("/ok", parameters={"type": "object", "properties": {"a": {"type": "nonsense"}}})

    result = execute(tool, {"a": 1})

    assert result.error_type == "permanent"
    assert "admin" in result.message
    assert tool_server.received == []


def test_a_raising_python_tool_becomes_a_structured_error():
    tool = Tool(name="test_executor_raises", kind=Tool.Kind.PYTHON, parameters={"type": "object"})

    result = execute(tool, {})

    assert (result.status, result.error_type, result.retry_safe) == ("error", "permanent", False)
    assert result.message == "KeyError: 'missing-key'"
    assert "Traceback" not in result.message


def test_list_results_reach_the_model_in_a_deterministic_order(tool_server):  # noqa: F811
    http_result = execute(tool_server.tool("/list"), {})
    assert [item["id"] for item in http_result.data] == [1, 2, 3]

    tool = Tool(name="test_executor_shuffled", kind=Tool.Kind.PYTHON, parameters={"type": "object"})
    seen = {
        repr(execute(tool, {"order": list(order)}).data) for order in itertools.permutations([5, 1, 4, 2])
    }
    assert seen == {repr([{"id": i, "v": f"r{i}"} for i in (1, 2, 4, 5)])}


def test_ordering_falls_back_to_canonical_json_and_keeps_structure():
    mixed = [{"name": "b", "tags": [2, 1]}, {"name": "a"}, "z", 3]
    assert result_order(mixed) == result_order(list(reversed(mixed)))
    assert result_order([{"name": "b", "tags": [2, 1]}])[0]["tags"] == [2, 1], "nested lists keep their order"

    envelope = {"items": [{"id": "b"}, {"id": "a"}], "point": [9, 1], "total": 2}
    assert result_order(envelope) == {"items": [{"id": "a"}, {"id": "b"}], "point": [9, 1], "total": 2}

    # Records sharing an id are still put in one order; ids of mixed types fall back to JSON.
    dupes = [{"id": 1, "v": "y"}, {"id": 1, "v": "x"}]
    assert (
        result_order(dupes)
        == result_order(list(reversed(dupes)))
        == [{"id": 1, "v": "x"}, {"id": 1, "v": "y"}]
    )
    mixed_ids = [{"id": "2"}, {"id": 1}]
    assert result_order(mixed_ids) == result_order(list(reversed(mixed_ids)))


def test_an_unknown_tool_gets_a_permanent_error_naming_the_tools_that_exist():
    result = tool_unknown_result(name="refund_everything", available=["search", "lookup_order"])

    assert (result.status, result.error_type, result.retry_safe) == ("error", "permanent", False)
    assert "refund_everything" in result.message
    assert "lookup_order, search" in result.message
    assert "no tools" in tool_unknown_result(name="x", available=[]).message


def test_idempotency_keys_are_deterministic_and_distinct_per_call():
    task_a, task_b = uuid.uuid4(), uuid.uuid4()
    key = tool_call_idempotency_key(task_id=task_a, step_index=3, call_index=0)

    assert key == tool_call_idempotency_key(task_id=str(task_a), step_index=3, call_index=0)
    others = {
        tool_call_idempotency_key(task_id=task_a, step_index=3, call_index=1),
        tool_call_idempotency_key(task_id=task_a, step_index=4, call_index=0),
        tool_call_idempotency_key(task_id=task_b, step_index=3, call_index=0),
        tool_call_idempotency_key(task_id=task_a, step_index=30, call_index=0),
    }
    assert key not in others
    assert len(others) == 4


def test_tool_spec_is_the_openai_function_format():
    tool = Tool(name="lookup_order", description="Find an order", parameters=REFUND_PARAMETERS)

    assert tool_spec(tool) == {
        "type": "function",
        "function": {"name": "lookup_order", "description": "Find an order", "parameters": REFUND_PARAMETERS},
    }
    no_args = tool_spec(Tool(name="now", description="", parameters={}))
    assert no_args["function"]["parameters"] == {"type": "object", "properties": {}}


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ([], "must be a JSON object"),
        ({"type": "objekt"}, "'objekt' is not valid"),
        ({"type": "string"}, '"type": "object"'),
        ({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}, "points to nothing"),
        (
            {"type": "object", "properties": {"a": {"$ref": "https://example.com/s.json"}}},
            "inside the schema",
        ),
        ({"type": "object", "properties": {"a": {"type": "string", "pattern": "(["}}}, "regex"),
    ],
)
def test_tool_parameters_check_finds_unusable_schemas(schema, problem):
    errors = tool_parameters_check(schema)

    assert any(problem in error for error in errors), errors


def test_tool_parameters_check_accepts_good_schemas():
    assert tool_parameters_check(REFUND_PARAMETERS) == []
    assert tool_parameters_check({}) == []
    with_defs = {
        "type": "object",
        "$defs": {"sku": {"type": "string"}},
        "properties": {"sku": {"$ref": "#/$defs/sku"}},
    }
    assert tool_parameters_check(with_defs) == []

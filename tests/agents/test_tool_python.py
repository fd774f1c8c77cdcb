"""Python tools: registration, the hard timeout, errors as results, and the built-ins."""

import threading
import time
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ImproperlyConfigured

from agents.models import Tool
from agents.tools.builtin import CalculatorError, calculate
from agents.tools.executor import tool_call_execute
from agents.tools.python import python_tool, python_tool_get, python_tools_sync
from agents.tools.result import ToolResult

release_stuck_tool = threading.Event()
seen_keys: list[str] = []


@python_tool(name="test_py_echo", description="echoes", parameters={"type": "object"}, risk_tier="medium")
def echo(args, *, idempotency_key):
    seen_keys.append(idempotency_key)
    return {"args": args, "tuple": (1, 2)}


@python_tool(name="test_py_refuses", description="refuses", parameters={"type": "object"})
def refuses(args, *, idempotency_key):
    return ToolResult.error("rate_limit", "quota used up", retry_safe=True, retry_after_s=60)


@python_tool(name="test_py_flaky", description="loses its connection", parameters={"type": "object"})
def flaky(args, *, idempotency_key):
    raise ConnectionResetError("peer went away")


@python_tool(name="test_py_exits", description="calls sys.exit", parameters={"type": "object"})
def exits(args, *, idempotency_key):
    raise SystemExit(3)


@python_tool(name="test_py_not_json", description="returns a set", parameters={"type": "object"})
def not_json(args, *, idempotency_key):
    return {"ids": {1, 2}}


@python_tool(
    name="test_py_stuck", description="never returns in time", parameters={"type": "object"}, timeout_s=0.2
)
def stuck(args, *, idempotency_key):
    release_stuck_tool.wait(10)
    return {"done": True}


def run(name: str, arguments=None, *, timeout_s: float = 5.0, key: str = "key-1") -> ToolResult:
    tool = Tool(name=name, kind=Tool.Kind.PYTHON, parameters={"type": "object"}, timeout_s=timeout_s)
    return tool_call_execute(tool=tool, arguments=arguments or {}, idempotency_key=key)


def test_plain_data_is_success_as_json_and_the_idempotency_key_is_passed():
    result = run("test_py_echo", {"q": 1}, key="tollgate-t-1-0")

    assert result == ToolResult.success({"args": {"q": 1}, "tuple": [1, 2]})
    assert seen_keys[-1] == "tollgate-t-1-0"


def test_a_returned_tool_result_is_passed_through():
    result = run("test_py_refuses")

    assert (result.error_type, result.retry_safe, result.retry_after_s) == ("rate_limit", True, 60)


def test_a_connection_error_inside_a_tool_is_transient():
    result = run("test_py_flaky")

    assert (result.status, result.error_type, result.retry_safe) == ("error", "transient", True)
    assert result.message == "ConnectionResetError: peer went away"


def test_even_sys_exit_in_a_tool_becomes_a_result():
    result = run("test_py_exits")

    assert (result.status, result.error_type, result.message) == ("error", "permanent", "SystemExit: 3")


def test_data_that_is_not_json_is_an_error_not_a_broken_checkpoint():
    result = run("test_py_not_json")

    assert result.error_type == "permanent"
    assert "not JSON" in result.message


def test_a_tool_past_its_timeout_is_abandoned_as_transient():
    started = time.monotonic()
    try:
        result = run("test_py_stuck", timeout_s=0.2)
    finally:
        release_stuck_tool.set()

    assert (result.status, result.error_type, result.retry_safe) == ("error", "transient", True)
    assert "0.2s" in result.message
    assert time.monotonic() - started < 5, "the caller did not wait for the tool (10 s)"


def test_a_python_tool_missing_from_this_process_is_a_permanent_error():
    result = run("test_py_never_registered")

    assert result.error_type == "permanent"
    assert "not available" in result.message


def test_bad_definitions_fail_at_import_time():
    with pytest.raises(ImproperlyConfigured, match="root must have"):
        python_tool(name="test_py_bad_schema", description="", parameters={"type": "string"})
    with pytest.raises(ImproperlyConfigured, match="name"):
        python_tool(name="has spaces", description="", parameters={})
    with pytest.raises(ImproperlyConfigured, match="risk_tier"):
        python_tool(name="test_py_bad_tier", description="", parameters={}, risk_tier="extreme")
    with pytest.raises(ImproperlyConfigured, match="defined twice"):
        python_tool(name="test_py_echo", description="", parameters={})(lambda args, *, idempotency_key: 1)


def test_builtins_are_registered_on_first_lookup():
    assert python_tool_get("calculator") is not None
    assert python_tool_get("current_time") is not None


@pytest.mark.django_db
def test_sync_upserts_python_tool_rows_and_keeps_an_admin_s_risk_tier():
    python_tools_sync()
    row = Tool.objects.get(name="test_py_echo")
    assert (row.kind, row.risk_tier, row.parameters) == ("python", "medium", {"type": "object"})
    assert Tool.objects.filter(name="calculator", kind="python").exists()

    Tool.objects.filter(pk=row.pk).update(risk_tier="high", description="stale")
    python_tools_sync()

    row.refresh_from_db()
    assert (row.risk_tier, row.description) == ("high", "echoes")
    assert Tool.objects.filter(name="test_py_echo").count() == 1


@pytest.mark.django_db
def test_sync_refuses_to_turn_an_http_tool_into_a_python_one():
    Tool.objects.create(name="test_py_echo", kind=Tool.Kind.HTTP, url="https://example.com/echo")

    with pytest.raises(ImproperlyConfigured, match="clashes"):
        python_tools_sync()
    assert Tool.objects.get(name="test_py_echo").kind == "http"


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(17.5 * 3) / 4", 13.125),
        ("-2 ** 2", -4),
        ("7 // 2 + 7 % 2", 4),
        ("round(sqrt(2) ** 2, 6)", 2.0),
        ("max(1, 5, 3) - abs(-2)", 3),
        ("2 ** 10", 1024),
    ],
)
def test_calculator_does_arithmetic(expression, value):
    assert calculate(expression) == value


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os')",
        "__import__('os').system('true')",
        "(1).__class__.__bases__",
        "open('/etc/passwd')",
        "[x for x in range(10)]",
        "'a' * 10",
        "lambda: 1",
        "x",
        "True + 1",
        "1j * 1j",
        "exec('1')",
        "abs(x=1)",
    ],
)
def test_calculator_refuses_anything_but_arithmetic(expression):
    with pytest.raises(CalculatorError):
        calculate(expression)


@pytest.mark.parametrize(
    "expression",
    ["9 ** 9 ** 9", "2 ** 5000", "10 ** 4000 * 10 ** 4000", "1e308 * 10", "round(5, -10 ** 9)", "exp(1000)"],
)
def test_calculator_refuses_results_too_large_to_compute_cheaply(expression):
    with pytest.raises(CalculatorError):
        calculate(expression)


@pytest.mark.parametrize("expression", ["1 / 0", "sqrt(-1)", "(-8) ** 0.5", "1 +", "min()"])
def test_calculator_errors_reach_the_model_as_permanent_results(expression):
    result = tool_call_execute(
        tool=Tool(name="calculator", kind=Tool.Kind.PYTHON, parameters={}),
        arguments={"expression": expression},
        idempotency_key="k",
    )

    assert (result.status, result.error_type) == ("error", "permanent")
    assert expression in result.message


def test_current_time_comes_from_the_clock(time_machine):
    time_machine.move_to(datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC), tick=False)

    result = tool_call_execute(
        tool=Tool(name="current_time", kind=Tool.Kind.PYTHON, parameters={}),
        arguments={},
        idempotency_key="k",
    )

    assert result.data == {"utc": "2026-05-04T03:02:01+00:00"}

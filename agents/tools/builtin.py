"""Built-in Python tools, safe to give any agent: arithmetic, the current time, memory."""

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from agents.memory.services import MAX_MEMORY_CHARS, MemoryAuthor, memory_create
from agents.models import Task
from agents.tools.executor import tool_call_key_parse
from agents.tools.python import python_tool
from agents.tools.result import ToolResult
from core import clock

MAX_EXPRESSION_CHARS = 500
# Integers beyond this many bits (about 1,200 digits) are refused: 9**9**9 would otherwise
# take the worker minutes and gigabytes to compute.
MAX_INT_BITS = 4096
MAX_ROUND_DIGITS = 100


class CalculatorError(Exception):
    pass


def _round(number: int | float, ndigits: int = 0) -> int | float:
    # round(5, -10**9) would compute 10**(10**9) first.
    if not isinstance(ndigits, int) or abs(ndigits) > MAX_ROUND_DIGITS:
        raise CalculatorError(f"round() takes a whole number of digits up to {MAX_ROUND_DIGITS}")
    return round(number, ndigits) if ndigits else round(number)


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "round": _round,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
    "log": math.log,
    "exp": math.exp,
}
_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}


@python_tool(
    name="calculator",
    description=(
        "Evaluate an arithmetic expression exactly as written. Supports + - * / // % ** and "
        "parentheses, the constants pi and e, and abs, round, min, max, sqrt, log, exp."
    ),
    parameters={
        "type": "object",
        "properties": {
            "expression": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_EXPRESSION_CHARS,
                "description": "for example (17.5 * 3) / 4 or sqrt(2) ** 2",
            }
        },
        "required": ["expression"],
        "additionalProperties": False,
    },
    timeout_s=2.0,
)
def calculator(args: dict[str, Any], *, idempotency_key: str) -> dict[str, Any] | ToolResult:
    expression = args["expression"]
    try:
        result = calculate(expression)
    except CalculatorError as exc:
        return ToolResult.error("permanent", f"cannot calculate {expression!r}: {exc}")
    return {"expression": expression, "result": result}


@python_tool(
    name="current_time",
    description="The current date and time in UTC, in ISO 8601.",
    parameters={"type": "object", "properties": {}, "additionalProperties": False},
    timeout_s=1.0,
)
def current_time(args: dict[str, Any], *, idempotency_key: str) -> dict[str, str]:
    return {"utc": clock.now().isoformat()}


@python_tool(
    name="echo",
    description="Returns its arguments unchanged. For wiring checks and benchmarks.",
    parameters={"type": "object"},
    timeout_s=1.0,
)
def echo(args: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
    return args


@python_tool(
    name="remember",
    description=(
        "Save a fact for later conversations. scope 'session' (the default) keeps it for this "
        "conversation; 'agent' for every conversation of this agent. Saved facts relevant to a "
        "new request are shown to you as memory."
    ),
    parameters={
        "type": "object",
        "properties": {
            "fact": {"type": "string", "minLength": 1, "maxLength": MAX_MEMORY_CHARS},
            "scope": {"type": "string", "enum": ["session", "agent"]},
        },
        "required": ["fact"],
        "additionalProperties": False,
    },
    timeout_s=5.0,
)
def remember(args: dict[str, Any], *, idempotency_key: str) -> dict[str, Any] | ToolResult:
    # The key says which task and step called; the memory keeps that as its source.
    source = tool_call_key_parse(idempotency_key)
    task = Task.objects.select_related("session").filter(pk=source[0]).first() if source else None
    if source is None or task is None:
        return ToolResult.error("permanent", "remember can only be called by an agent running a task")
    scope = args.get("scope", "session")
    memory = memory_create(
        agent=task.session.agent,
        text=args["fact"],
        author=MemoryAuthor.end_user_of(task.session),
        session_id=task.session_id if scope == "session" else None,
        task_id=task.id,
        step_index=source[1],
        source_key=idempotency_key,
    )
    return {"remembered": memory.text, "scope": scope, "id": memory.pk}


def calculate(expression: str) -> int | float:
    """Evaluate arithmetic by walking its syntax tree; no name, attribute or call outside the
    whitelist is ever looked up, so nothing but arithmetic can run."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise CalculatorError(f"expressions are limited to {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError) as exc:
        raise CalculatorError("not an arithmetic expression") from exc
    try:
        return _evaluate(tree.body)
    except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
        # ZeroDivisionError, OverflowError, math domain errors, min() of nothing...
        raise CalculatorError(str(exc) or type(exc).__name__) from exc


def _evaluate(node: ast.expr) -> int | float:
    if isinstance(node, ast.Constant):
        value = node.value
        # bool is an int subclass; True + 1 is not arithmetic anyone meant.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return _bounded(_BINARY[type(node.op)](left, right))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _bounded(_FUNCTIONS[node.func.id](*(_evaluate(arg) for arg in node.args)))
    raise CalculatorError(f"{ast.unparse(node)[:60]!r} is not allowed: only numbers and arithmetic")


def _check_power(base: int | float, exponent: int | float) -> None:
    # |base| >= 2 ** (bits - 1), so this underestimates the result's size: what passes is
    # cheap to compute, and _bounded refuses it afterwards if it is still too large.
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and abs(base) > 1
        and exponent * max(abs(base).bit_length() - 1, 1) > MAX_INT_BITS
    ):
        raise CalculatorError("the result is too large")


def _bounded(value: Any) -> int | float:
    if isinstance(value, complex):
        # (-8) ** 0.5 is complex in Python; the tool answers in real numbers only.
        raise CalculatorError("the result is not a real number")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise CalculatorError("the result is too large")
    if isinstance(value, float) and not math.isfinite(value):
        # 1e308 * 10 is inf rather than an error; JSON has no inf or nan to answer with.
        raise CalculatorError("the result is too large or undefined")
    return value

"""Python tools: functions registered with a decorator, run in a thread under a hard timeout.

    @python_tool(name="lookup_order", description="...", parameters={...}, risk_tier="low")
    def lookup_order(args: dict, *, idempotency_key: str) -> dict: ...

Returning plain (JSON-serializable) data means success; returning a ToolResult says exactly
what happened. A tool with side effects must use `idempotency_key` to do them at most once,
because a redelivered step calls it again with the same key.

Registration happens when the defining module is imported. `python_tools_autodiscover()`
imports the built-in tools (agents/tools/builtin.py) and the `tools` module of every
installed app (`billing/tools.py`, say); lookups run it once on first use, so every process
(web, worker) knows the same tools without further set-up.

A timed-out call is reported as a transient error, but its thread cannot be killed: Python
has no way to stop a thread. It runs on in the background and holds a slot of the pool, so
Python tools must be well-behaved: bounded work, their own timeouts on any I/O. Running in
a pool thread, a tool has its own database connection, outside any transaction of its caller.
"""

import json
import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections, transaction
from django.utils.module_loading import autodiscover_modules

from agents.models import Tool
from agents.models.tool import TOOL_NAME_PATTERN, Trust
from agents.tools.result import ToolResult
from agents.tools.schema import tool_parameters_check
from core.per_process import PerProcess
from core.tiers import RiskTier

logger = logging.getLogger(__name__)

ToolFunction = Callable[..., Any]

# Threads running Python tool calls in one process. A call that times out keeps its thread
# until it returns, so this also bounds how many stuck calls a process can accumulate.
POOL_SIZE = 16
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class PythonTool:
    name: str
    description: str
    parameters: dict[str, Any]
    risk_tier: str
    timeout_s: float
    function: ToolFunction


_registry: dict[str, PythonTool] = {}
_discovered = threading.Event()
_discover_lock = threading.Lock()


def python_tool(
    *,
    name: str,
    description: str,
    parameters: dict[str, Any],
    risk_tier: str = RiskTier.LOW,
    timeout_s: float = 10.0,
) -> Callable[[ToolFunction], ToolFunction]:
    """Register the decorated function as the Python tool `name`. Bad definitions fail at import."""
    problems = tool_parameters_check(parameters)
    if not re.fullmatch(TOOL_NAME_PATTERN, name):
        problems.append(f"name {name!r} must match {TOOL_NAME_PATTERN}")
    if risk_tier not in RiskTier.values:
        problems.append(f"risk_tier {risk_tier!r} must be one of {', '.join(RiskTier.values)}")
    if timeout_s <= 0:
        problems.append("timeout_s must be positive")
    if problems:
        raise ImproperlyConfigured(f"Python tool {name!r}: " + "; ".join(problems))

    def register(function: ToolFunction) -> ToolFunction:
        existing = _registry.get(name)
        if existing is not None and _qualified(existing.function) != _qualified(function):
            raise ImproperlyConfigured(
                f"Python tool {name!r} is defined twice: {_qualified(existing.function)} "
                f"and {_qualified(function)}"
            )
        _registry[name] = PythonTool(
            name=name,
            description=description,
            parameters=parameters,
            risk_tier=str(risk_tier),
            timeout_s=timeout_s,
            function=function,
        )
        return function

    return register


def python_tools_autodiscover() -> None:
    """Import the modules that register Python tools: the built-ins and every app's `tools.py`."""
    with _discover_lock:
        if _discovered.is_set():
            return
        import agents.tools.builtin  # noqa: F401  (registers on import)

        autodiscover_modules("tools")
        _discovered.set()


def python_tool_get(name: str) -> PythonTool | None:
    if not _discovered.is_set():
        python_tools_autodiscover()
    return _registry.get(name)


def python_tools_all() -> list[PythonTool]:
    if not _discovered.is_set():
        python_tools_autodiscover()
    return sorted(_registry.values(), key=lambda tool: tool.name)


@transaction.atomic
def python_tools_sync() -> list[Tool]:
    """Create or update a Tool row of kind python for every registered Python tool.

    The code owns a tool's description, parameters and timeout, so those are overwritten; the
    risk tier is only the initial value, because admins tune tiers in the console.
    """
    rows = []
    for registered in python_tools_all():
        owned = {
            "description": registered.description,
            "parameters": registered.parameters,
            "timeout_s": registered.timeout_s,
        }
        # The row lock (or, for a new row, the unique name) keeps two processes syncing at
        # once from overwriting each other or creating the tool twice.
        row, created = Tool.objects.select_for_update().get_or_create(
            name=registered.name,
            defaults={
                **owned,
                "kind": Tool.Kind.PYTHON,
                "risk_tier": registered.risk_tier,
                "trust": Trust.TRUSTED,  # built-ins are the project's code; admins may still change it
            },
        )
        if not created:
            if row.kind != Tool.Kind.PYTHON:
                raise ImproperlyConfigured(
                    f"Python tool {registered.name!r} clashes with the {row.kind} tool of the same name"
                )
            for field, value in owned.items():
                setattr(row, field, value)
            row.save(update_fields=[*owned, "updated_at"])
        rows.append(row)
    return rows


def python_tool_call(*, tool: Tool, arguments: dict[str, Any], idempotency_key: str) -> ToolResult:
    """Run the registered function for `tool` with a hard timeout of `tool.timeout_s`."""
    registered = python_tool_get(tool.name)
    if registered is None:
        return ToolResult.error(
            "permanent", f"{tool.name} is not available in this process (its Python code is not installed)"
        )
    future: Future[ToolResult] = _pool().submit(_run, registered, arguments, idempotency_key)
    try:
        return future.result(timeout=tool.timeout_s)
    except FutureTimeout:
        # A call still waiting for a thread never starts; one already running cannot be stopped.
        if not future.cancel():
            logger.warning("Python tool %s outlived its %ss timeout; it runs on", tool.name, tool.timeout_s)
        return ToolResult.error(
            "transient", f"{tool.name} did not finish within {tool.timeout_s:g}s", retry_safe=True
        )


def _run(registered: PythonTool, arguments: dict[str, Any], idempotency_key: str) -> ToolResult:
    # Pool threads outlive calls: drop database connections that broke or aged out meanwhile,
    # as Django does around each request.
    close_old_connections()
    try:
        value = registered.function(arguments, idempotency_key=idempotency_key)
    except (Exception, SystemExit) as exc:
        # The tool's failure goes to the model as a result; the traceback goes to the log.
        logger.exception("Python tool %s raised", registered.name)
        return _exception_result(exc)
    finally:
        close_old_connections()
    if isinstance(value, ToolResult):
        return value
    try:
        # Round-tripping gives the model and the checkpoint (jsonb) exactly the same data.
        return ToolResult.success(json.loads(json.dumps(value, allow_nan=False)))
    except (TypeError, ValueError) as exc:
        return ToolResult.error("permanent", f"{registered.name} returned data that is not JSON: {exc}")


def _exception_result(exc: BaseException) -> ToolResult:
    message = f"{type(exc).__name__}: {exc}"
    if len(message) > MAX_ERROR_CHARS:
        message = message[:MAX_ERROR_CHARS] + "…"
    # Timeouts and dropped connections inside a tool are worth another try; anything else is
    # a bug or a refusal that repeats. The idempotency key makes the retry safe.
    if isinstance(exc, TimeoutError | ConnectionError):
        return ToolResult.error("transient", message, retry_safe=True)
    return ToolResult.error("permanent", message)


# A forked Celery child inherits its parent's pool object but none of its threads
# (see console.per_process).
_pool = PerProcess(lambda: ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="python-tool"))


def _qualified(function: ToolFunction) -> str:
    return f"{function.__module__}.{function.__qualname__}"

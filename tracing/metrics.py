"""Prometheus metrics, recorded once per committed step and scraped at /metrics.

Celery's prefork children each write their own files under PROMETHEUS_MULTIPROC_DIR
(prometheus-client's multiprocess mode); the scrape sums them. Settings point that variable
at a directory before prometheus_client is first imported, which is what selects the mode.
"""

from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import psutil
from prometheus_client import Counter, Histogram

from tracing.models import Span
from tracing.recorder import (
    COST_ATTRIBUTE,
    DETECTION_EVENT,
    EVENTS_ATTRIBUTE,
    TOOL_DECLINED,
    TOOL_STATUS_ATTRIBUTE,
)

# Step and task durations in seconds: from a cached reply (ms) to a long agent run.
_STEP_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_TASK_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)

MODEL_CALLS = Counter("tollgate_model_calls", "Model calls", ["model", "agent", "status"])
MODEL_TOKENS = Counter("tollgate_model_tokens", "Model tokens", ["model", "agent", "type"])
MODEL_COST = Counter("tollgate_model_cost_usd", "Model cost in USD", ["model", "agent"])
TOOL_CALLS = Counter("tollgate_tool_calls", "Tool calls", ["tool", "status", "error_type"])
INJECTION_DETECTIONS = Counter(
    "tollgate_injection_detections", "Findings of injected instructions in tool results", ["tool", "detector"]
)
GUARDRAIL_DECISIONS = Counter("tollgate_guardrail_decisions", "Guardrail decisions", ["guard", "verdict"])
STEP_SECONDS = Histogram("tollgate_step_duration_seconds", "Step duration", ["agent"], buckets=_STEP_BUCKETS)
TASK_SECONDS = Histogram(
    "tollgate_task_duration_seconds",
    "Task duration, start to end",
    ["agent", "status"],
    buckets=_TASK_BUCKETS,
)

APPROVAL_DECISION_SECONDS = Histogram(
    "tollgate_approval_time_to_decision_seconds",
    "From an action request's creation to its decision (approved, rejected, cancelled, expired)",
    ["tier", "outcome"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 14400),
)

_TOKEN_ATTRIBUTES = {
    "input": "gen_ai.usage.input_tokens",
    "output": "gen_ai.usage.output_tokens",
    "cached_input": "gen_ai.usage.cache_read.input_tokens",
}


def metrics_step_record(*, agent: str, spans: Sequence[Span], step_seconds: float | None) -> None:
    for span in spans:
        attributes: dict[str, Any] = span.attributes if isinstance(span.attributes, dict) else {}
        if span.kind == Span.Kind.MODEL:
            _record_model_call(agent, span, attributes)
        elif span.kind == Span.Kind.TOOL:
            declined = attributes.get(TOOL_STATUS_ATTRIBUTE) == TOOL_DECLINED  # people said no: no error
            TOOL_CALLS.labels(
                tool=str(attributes.get("gen_ai.tool.name", "")),
                status=TOOL_DECLINED if declined else span.status,
                error_type=str(attributes.get("error.type", "")),
            ).inc()
            _record_detections(attributes)
        elif span.kind == Span.Kind.GUARDRAIL:
            GUARDRAIL_DECISIONS.labels(
                guard=str(attributes.get("tollgate.guardrail.name", "")),
                verdict=str(attributes.get("tollgate.guardrail.verdict", "")),
            ).inc()
    if step_seconds is not None:
        STEP_SECONDS.labels(agent=agent).observe(step_seconds)


def _record_detections(attributes: dict[str, Any]) -> None:
    """One per detector that fired on a tool's result (its span's injection.detected events)."""
    events = attributes.get(EVENTS_ATTRIBUTE)
    if not isinstance(events, list):
        return
    tool = str(attributes.get("gen_ai.tool.name", ""))
    detectors = {
        str((event.get("attributes") or {}).get("tollgate.injection.detector", ""))
        for event in events
        if isinstance(event, dict) and event.get("name") == DETECTION_EVENT
    }
    for detector in sorted(detectors):
        INJECTION_DETECTIONS.labels(tool=tool, detector=detector).inc()


def metrics_task_record(*, agent: str, status: str, task_seconds: float) -> None:
    TASK_SECONDS.labels(agent=agent, status=status).observe(task_seconds)


def metrics_approval_decided(*, tier: str, outcome: str, seconds: float) -> None:
    APPROVAL_DECISION_SECONDS.labels(tier=tier, outcome=outcome).observe(seconds)


def _record_model_call(agent: str, span: Span, attributes: dict[str, Any]) -> None:
    # A simulator model's query string (sim/chain?calls=3) would make a label per variant.
    model = str(attributes.get("gen_ai.request.model", "")).partition("?")[0]
    MODEL_CALLS.labels(model=model, agent=agent, status=span.status).inc()
    for kind, name in _TOKEN_ATTRIBUTES.items():
        value = attributes.get(name)
        if isinstance(value, int) and value > 0:
            MODEL_TOKENS.labels(model=model, agent=agent, type=kind).inc(value)
    cost = _decimal(attributes.get(COST_ATTRIBUTE))
    if cost:
        # Prometheus samples are floats; the exact Decimal stays on the span.
        MODEL_COST.labels(model=model, agent=agent).inc(float(cost))


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def metrics_files_clear(directory: str) -> None:
    """Forget samples of processes that no longer run (called when a worker starts).

    Files of live processes stay: the web process or another worker on this host may still
    be writing them through a memory map, and unlinking would hide their samples from scrapes.
    """
    for path in _files(Path(directory)):
        pid = path.stem.rpartition("_")[2]
        if not pid.isdigit() or not psutil.pid_exists(int(pid)):
            path.unlink(missing_ok=True)


def _files(directory: Path) -> Iterable[Path]:
    return directory.glob("*.db") if directory.is_dir() else ()

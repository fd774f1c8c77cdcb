"""Shapes steps and spans for the task page: payloads pretty-printed and cut to a readable size.

Everything here is plain text; the templates escape it. Nothing is marked safe.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from agents.models import Step
from tracing.models import Span
from tracing.recorder import COST_ATTRIBUTE

# Larger payloads are cut on the page, with a link to the whole of it.
PAYLOAD_LIMIT = 10_000


@dataclass(frozen=True)
class Payload:
    text: str
    size: int  # characters in the whole payload

    @property
    def truncated(self) -> bool:
        return self.size > len(self.text)


@dataclass(frozen=True)
class ToolCallView:
    id: str
    name: str
    arguments: Payload | None
    result: Payload | None  # None until the tool call has finished
    status: str


@dataclass(frozen=True)
class StepView:
    step: Step
    text: str
    tool_calls: list[ToolCallView]


@dataclass(frozen=True)
class SpanView:
    span: Span
    offset_ms: float
    input_tokens: int | None
    output_tokens: int | None
    cost: Decimal | None
    input: Payload | None
    output: Payload | None
    # Position of the span's bar in the waterfall, in percent of the whole trace.
    bar_left: float
    bar_width: float


def payload_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def payload(value: Any, limit: int = PAYLOAD_LIMIT) -> Payload | None:
    if value is None:
        return None
    text = payload_text(value)
    return Payload(text=text[:limit], size=len(text))


def step_views(steps: list[Step]) -> list[StepView]:
    return [_step_view(step) for step in steps]


def _step_view(step: Step) -> StepView:
    response = step.response or {}
    results = step.tool_results or []
    calls = []
    for index, call in enumerate(response.get("tool_calls") or []):
        arguments = call.get("arguments")
        result = results[index] if index < len(results) else None
        calls.append(
            ToolCallView(
                id=str(call.get("id", "")),
                name=str(call.get("name", "")),
                # Unparsable arguments are kept raw by the runtime; show whichever there is.
                arguments=payload(arguments if arguments is not None else call.get("raw_arguments")),
                result=payload(result),
                status=str(result.get("status", "")) if isinstance(result, dict) else "",
            )
        )
    return StepView(step=step, text=str(response.get("content") or ""), tool_calls=calls)


def span_views(spans: list[Span], *, origin: datetime) -> list[SpanView]:
    """Spans with their offset from `origin` (when the task started) and waterfall bars."""
    if not spans:
        return []
    end = max(span.ended_at for span in spans)
    total_ms = max(_ms(end - origin), 1.0)
    views = []
    for span in spans:
        offset = _ms(span.started_at - origin)
        attributes = span.attributes if isinstance(span.attributes, dict) else {}
        views.append(
            SpanView(
                span=span,
                offset_ms=offset,
                input_tokens=_int(attributes.get("gen_ai.usage.input_tokens")),
                output_tokens=_int(attributes.get("gen_ai.usage.output_tokens")),
                cost=_decimal(attributes.get(COST_ATTRIBUTE)),
                input=payload(span.input),
                output=payload(span.output),
                bar_left=min(max(round(100 * offset / total_ms, 2), 0.0), 100.0),
                # A zero-length span still gets a visible sliver.
                bar_width=max(round(100 * span.duration_ms / total_ms, 2), 0.5),
            )
        )
    return views


def _ms(delta: timedelta) -> float:
    return delta.total_seconds() * 1000


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None

"""A page of a trace as waterfall rows: nesting, model, tokens, cost, marks and the reasoning.

Built on the task page's span views (offsets, bars, escaped-later payloads); this adds what a
reader needs to follow the run: how deep each span sits, which model answered, guardrail
verdicts and waits, and for each model call the text the model gave with its tool calls (the
"decision chain": why it chose what it chose, beside the call).
"""

from dataclasses import dataclass
from typing import Any

from console.pages.present import SpanView
from tracing.models import Span

# Characters of a model's reasoning shown inline; the whole reply is one click away.
REASONING_LIMIT = 300


@dataclass(frozen=True)
class WaterfallRow:
    view: SpanView
    depth: int
    model: str
    cached_tokens: int | None
    mark: str  # "guardrail", "wait" or ""
    verdict: str
    reason: str
    error_type: str
    reasoning: str
    tool_calls: list[str]


def waterfall_rows(views: list[SpanView]) -> list[WaterfallRow]:
    depths: dict[str, int] = {}
    rows = []
    for view in views:
        span = view.span
        parent = span.parent_span_id
        # A parent on an earlier page is not here: its children then sit one level in.
        depth = depths[parent] + 1 if parent in depths else (1 if parent else 0)
        depths[span.span_id] = depth
        rows.append(_row(view, depth))
    return rows


def _row(view: SpanView, depth: int) -> WaterfallRow:
    span = view.span
    attributes: dict[str, Any] = span.attributes if isinstance(span.attributes, dict) else {}
    reasoning, calls = _decision(span) if span.kind == Span.Kind.MODEL else ("", [])
    mark = span.kind if span.kind in (Span.Kind.GUARDRAIL, Span.Kind.WAIT) else ""
    cached = attributes.get("gen_ai.usage.cache_read.input_tokens")
    if span.kind == Span.Kind.WAIT:
        # What it waited for ("approval", or the guard that parked the task) and how it ended.
        verdict = str(attributes.get("tollgate.approval.decision", ""))
        reason = str(attributes.get("tollgate.wait.reason", ""))
    else:
        verdict = str(attributes.get("tollgate.guardrail.verdict", ""))
        reason = str(attributes.get("tollgate.guardrail.reason", ""))
    return WaterfallRow(
        view=view,
        depth=depth,
        model=str(attributes.get("gen_ai.response.model") or attributes.get("gen_ai.request.model") or ""),
        cached_tokens=cached if isinstance(cached, int) and not isinstance(cached, bool) else None,
        mark=mark,
        verdict=verdict,
        reason=reason,
        error_type=str(attributes.get("error.type", "")),
        reasoning=reasoning,
        tool_calls=calls,
    )


def _decision(span: Span) -> tuple[str, list[str]]:
    """The model's text and the names of the tools it asked for, from the span's output."""
    output = span.output if isinstance(span.output, dict) else {}
    content = output.get("content")
    text = content if isinstance(content, str) else ""
    if len(text) > REASONING_LIMIT:
        text = text[:REASONING_LIMIT] + "…"
    calls = []
    for call in output.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str):
            calls.append(name)
    return text, calls

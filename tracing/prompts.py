"""A model span's prompt, stored once: each span keeps the messages new at its step and a
reference to the span whose prompt it continues; the full prompt is put back together to read.

A step's prompt is the previous step's prompt plus that step's reply and tool results, unless
context control rewrote the conversation in between. Storing every prompt whole made a
session's trace grow with the square of its steps (a 100k-token prompt on every step); a span
now stores `{"prompt_ref": {"span_id", "messages"[, "trace_id"]}, "messages": [...]}`: the first
`messages` messages of the referenced span's prompt, then its own. The referenced span is the
previous step's, or, for a session's next task, the earlier task's last one (in that task's
trace, named by `trace_id`). A prompt with nothing to continue is stored whole, as a list.
"""

from typing import Any

from tracing.models import Span, Trace

PROMPT_REF = "prompt_ref"


def prompt_delta(
    *, prompt: list[dict[str, Any]], previous_span_id: str | None, kept: int, trace_id: str | None = None
) -> Any:
    """What a model span stores for `prompt`, whose first `kept` messages were also the first of
    `previous_span_id`'s prompt (in the trace `trace_id`, when it is another task's)."""
    if previous_span_id is None or kept <= 0:
        return prompt
    reference: dict[str, Any] = {"span_id": previous_span_id, "messages": kept}
    if trace_id is not None:
        reference["trace_id"] = trace_id
    return {PROMPT_REF: reference, "messages": prompt[kept:]}


def is_prompt_delta(stored: Any) -> bool:
    return isinstance(stored, dict) and isinstance(stored.get(PROMPT_REF), dict)


class PromptAssembler:
    """Puts prompts back together for spans read in start order (an export, a page); it keeps
    only the last prompt it built, which is what the next step's span refers to, and reads the
    model spans from the database when a reference goes further back."""

    def __init__(self) -> None:
        self._last: tuple[str, list[dict[str, Any]]] | None = None

    def prompt(self, span: Span) -> Any:
        stored: Any = span.input
        if not is_prompt_delta(stored):
            full = stored
        elif (
            self._last is not None
            and "trace_id" not in stored[PROMPT_REF]
            and stored[PROMPT_REF].get("span_id") == self._last[0]
        ):
            full = _apply(self._last[1], stored)
        else:
            full = prompt_reassemble(span)
        if isinstance(full, list):
            self._last = (span.span_id, full)
        return full


def prompt_reassemble(span: Span) -> Any:
    """The whole prompt a model span was sent, following its references back: one query for
    the earlier model spans of its trace, two for each earlier task's trace it reaches.

    A reference that cannot be followed (a span deleted by retention) leaves the stored form."""
    if not is_prompt_delta(span.input) or span.step_index is None:
        return span.input
    by_trace: dict[str, dict[str, Any]] = {
        "": dict(
            Span.objects.filter(trace_id=span.trace_id, kind=Span.Kind.MODEL, step_index__lt=span.step_index)
            .exclude(input=None)
            .values_list("span_id", "input")
        )
    }
    chain = [span.input]
    current: Any = span.input
    while is_prompt_delta(current):
        reference = current[PROMPT_REF]
        trace_id = str(reference.get("trace_id") or "")
        if trace_id not in by_trace:
            by_trace[trace_id] = _model_inputs(trace_id)
        current = by_trace[trace_id].get(reference.get("span_id"))
        if current is None or len(chain) > sum(len(inputs) for inputs in by_trace.values()):
            return span.input
        chain.append(current)
        if not trace_id:
            continue
        # Beyond another task's span, "same trace" references mean that task's trace.
        by_trace[""] = by_trace[trace_id]
    full: list[dict[str, Any]] = list(current) if isinstance(current, list) else []
    for delta in reversed(chain[:-1]):
        full = _apply(full, delta)
    return full


def _model_inputs(trace_id: str) -> dict[str, Any]:
    trace = Trace.objects.filter(trace_id=trace_id).values_list("pk", flat=True).first()
    if trace is None:
        return {}
    return dict(
        Span.objects.filter(trace_id=trace, kind=Span.Kind.MODEL)
        .exclude(input=None)
        .values_list("span_id", "input")
    )


def _apply(previous: list[dict[str, Any]], delta: dict[str, Any]) -> list[dict[str, Any]]:
    kept = delta[PROMPT_REF].get("messages")
    kept = kept if isinstance(kept, int) and kept >= 0 else 0
    messages = delta.get("messages")
    return [*previous[:kept], *(messages if isinstance(messages, list) else [])]

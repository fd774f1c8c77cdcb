"""A model span's prompt, stored once: each span keeps the messages new at its step and a
reference to the span whose prompt it continues; the full prompt is put back together to read.

A step's prompt is the previous step's prompt plus that step's reply and tool results, unless
context control rewrote the conversation in between. Storing every prompt whole made a
session's trace grow with the square of its steps (a 100k-token prompt on every step); a span
now stores `{"prompt_ref": {"span_id", "messages"}, "messages": [...]}`: the first `messages`
messages of the referenced span's prompt, then its own. A prompt with nothing to continue (a
task's first step, or one whose conversation was summarised from the start) is stored whole,
as a list, as before.
"""

from typing import Any

from tracing.models import Span

PROMPT_REF = "prompt_ref"


def prompt_delta(*, prompt: list[dict[str, Any]], previous_span_id: str | None, kept: int) -> Any:
    """What a model span stores for `prompt`, whose first `kept` messages were also the first of
    `previous_span_id`'s prompt."""
    if previous_span_id is None or kept <= 0:
        return prompt
    return {PROMPT_REF: {"span_id": previous_span_id, "messages": kept}, "messages": prompt[kept:]}


def is_prompt_delta(stored: Any) -> bool:
    return isinstance(stored, dict) and isinstance(stored.get(PROMPT_REF), dict)


class PromptAssembler:
    """Puts prompts back together for spans read in start order (an export, a page); it keeps
    only the last prompt it built, which is what the next step's span refers to, and reads the
    trace's model spans from the database when a reference goes further back."""

    def __init__(self) -> None:
        self._last: tuple[str, list[dict[str, Any]]] | None = None

    def prompt(self, span: Span) -> Any:
        stored: Any = span.input
        if not is_prompt_delta(stored):
            full = stored
        elif self._last is not None and stored[PROMPT_REF].get("span_id") == self._last[0]:
            full = _apply(self._last[1], stored)
        else:
            full = prompt_reassemble(span)
        if isinstance(full, list):
            self._last = (span.span_id, full)
        return full


def prompt_reassemble(span: Span) -> Any:
    """The whole prompt a model span was sent, following its references back in one query.

    A reference that cannot be followed (a span deleted by retention) leaves the stored form."""
    if not is_prompt_delta(span.input) or span.step_index is None:
        return span.input
    stored = dict(
        Span.objects.filter(trace_id=span.trace_id, kind=Span.Kind.MODEL, step_index__lt=span.step_index)
        .exclude(input=None)
        .values_list("span_id", "input")
    )
    chain = [span.input]
    current: Any = span.input
    while is_prompt_delta(current):
        reference = current[PROMPT_REF].get("span_id")
        if reference not in stored or len(chain) > len(stored):
            return span.input
        current = stored[reference]
        chain.append(current)
    full: list[dict[str, Any]] = list(current) if isinstance(current, list) else []
    for delta in reversed(chain[:-1]):
        full = _apply(full, delta)
    return full


def _apply(previous: list[dict[str, Any]], delta: dict[str, Any]) -> list[dict[str, Any]]:
    kept = delta[PROMPT_REF].get("messages")
    kept = kept if isinstance(kept, int) and kept >= 0 else 0
    messages = delta.get("messages")
    return [*previous[:kept], *(messages if isinstance(messages, list) else [])]

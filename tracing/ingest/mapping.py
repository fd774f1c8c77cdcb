"""OpenTelemetry GenAI spans as Tollgate spans: kind, usage, and cost from the price table."""

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from agents.providers.base import Usage
from agents.providers.pricing import model_cost, model_price_at
from core.json_input import RequestRejected, json_parse_strict
from tracing.ingest.decode import OtlpSpan
from tracing.models import Span
from tracing.recorder import COST_ATTRIBUTE

MODEL_OPERATIONS = ("chat", "text_completion", "generate_content", "embeddings")
DEFAULT_AGENT = "otel-agent"
_UNSAFE_NAME = re.compile(r"[^-a-zA-Z0-9_]+")
# The semantic conventions renamed the cache counters; both spellings are read.
CACHE_READ = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens")
CACHE_WRITE = ("gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens")
# The most tokens one span may report per counter: 10x the largest context window offered
# (10M tokens), so no real call is cut, while a hostile count stays far from the task's
# columns (store.py saturates a sum that would still overflow them).
MAX_SPAN_TOKENS = 10**8


@dataclass(frozen=True)
class MappedSpan:
    kind: str
    attributes: dict[str, Any]
    input: Any
    output: Any
    usage: Usage
    cost: Decimal


def span_kind(span: OtlpSpan) -> str:
    operation = str(span.attributes.get("gen_ai.operation.name") or span.name.split(" ")[0])
    if operation in MODEL_OPERATIONS:
        return Span.Kind.MODEL
    if operation == "execute_tool":
        return Span.Kind.TOOL
    return Span.Kind.AGENT


def agent_name(span: OtlpSpan) -> str:
    """The Tollgate agent the span's work belongs to: gen_ai.agent.name, else the service."""
    raw = span.attributes.get("gen_ai.agent.name") or span.resource.get("service.name") or DEFAULT_AGENT
    name = _UNSAFE_NAME.sub("-", str(raw)).strip("-")[:100]
    return name or DEFAULT_AGENT


def tool_of(span: OtlpSpan) -> str:
    """The tool an `execute_tool` span ran: gen_ai.tool.name, else its name's second word."""
    name = span.attributes.get("gen_ai.tool.name") or span.name.removeprefix("execute_tool").strip()
    return str(name or "unnamed tool")[:64]


def span_map(span: OtlpSpan) -> MappedSpan:
    kind = span_kind(span)
    attributes = dict(span.attributes)
    usage = Usage(
        input_tokens=_count(attributes, ("gen_ai.usage.input_tokens",)),
        output_tokens=_count(attributes, ("gen_ai.usage.output_tokens",)),
        cached_input_tokens=_count(attributes, CACHE_READ),
        cache_write_tokens=_count(attributes, CACHE_WRITE),
    )
    cost = Decimal(0)
    if kind == Span.Kind.MODEL:
        model = priced_model(attributes, at=span.started_at)
        if model is not None:
            attributes["gen_ai.request.model"] = model
            cost = model_cost(model=model, usage=usage, at=span.started_at)
        attributes[COST_ATTRIBUTE] = str(cost)
    inputs = ("gen_ai.input.messages", "gen_ai.tool.call.arguments")
    outputs = ("gen_ai.output.messages", "gen_ai.tool.call.result")
    return MappedSpan(
        kind=kind,
        attributes={key: value for key, value in attributes.items() if key not in (*inputs, *outputs)},
        input=_payload(attributes, inputs),
        output=_payload(attributes, outputs),
        usage=usage,
        cost=cost,
    )


def priced_model(attributes: dict[str, Any], *, at: datetime) -> str | None:
    """The model's name in the price table's terms ("openai/gpt-4o"), if it has a price."""
    model = str(attributes.get("gen_ai.request.model") or attributes.get("gen_ai.response.model") or "")
    if not model:
        return None
    provider = str(attributes.get("gen_ai.provider.name") or attributes.get("gen_ai.system") or "")
    for name in (f"{provider}/{model}" if provider else "", model):
        if name and model_price_at(model=name, at=at) is not None:
            return name
    return f"{provider}/{model}" if provider else model


def _count(attributes: dict[str, Any], names: tuple[str, ...]) -> int:
    for name in names:
        value = attributes.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return max(0, min(value, MAX_SPAN_TOKENS))
    return 0


def _payload(attributes: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = attributes.get(name)
        if isinstance(value, str):
            try:
                return json_parse_strict(value)
            except RequestRejected:
                return value
        if value is not None:
            return value
    return None

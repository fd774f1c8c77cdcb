"""A model's reply as stored in Step.response, so a redelivered step reuses it."""

from dataclasses import asdict
from typing import Any

from agents.providers.base import ChatResponse, ToolCall, Usage


def response_to_json(response: ChatResponse) -> dict[str, Any]:
    return asdict(response)


def response_from_json(data: dict[str, Any]) -> ChatResponse:
    return ChatResponse(
        content=data["content"],
        tool_calls=[ToolCall(**call) for call in data["tool_calls"]],
        usage=Usage(**data["usage"]),
        model=data["model"],
        provider=data["provider"],
        finish_reason=data["finish_reason"],
        latency_ms=data["latency_ms"],
        response_id=data.get("response_id", ""),
        reasoning=data.get("reasoning", ""),
    )

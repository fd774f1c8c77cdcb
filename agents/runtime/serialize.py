"""A model's reply as stored in Step.response, so a redelivered step reuses it."""

from typing import Any

from agents.providers.base import ChatResponse, ToolCall, Usage


def response_to_json(response: ChatResponse) -> dict[str, Any]:
    """What dataclasses.asdict gives, written out: asdict deep-copies every value on every
    step, and the reply is frozen and serialized at once (its calls' arguments are shared)."""
    usage = response.usage
    return {
        "content": response.content,
        "tool_calls": [
            {
                "id": call.id,
                "name": call.name,
                "arguments": call.arguments,
                "raw_arguments": call.raw_arguments,
            }
            for call in response.tool_calls
        ],
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cached_input_tokens": usage.cached_input_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "model": response.model,
        "provider": response.provider,
        "finish_reason": response.finish_reason,
        "latency_ms": response.latency_ms,
        "response_id": response.response_id,
        "reasoning": response.reasoning,
    }


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

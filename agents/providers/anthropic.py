"""Anthropic's Messages API, converted to and from the internal OpenAI chat format."""

import json
from typing import Any

from agents.providers.base import ChatRequest, ChatResponse, ProviderError, ToolCall, Usage
from agents.providers.http import post_json

API_VERSION = "2023-06-01"
_CACHE = {"type": "ephemeral"}
# Anthropic's stop reasons in the OpenAI vocabulary the runtime reads.
_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
}


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, *, base_url: str, api_key: str, timeout_s: float) -> None:
        self._url = base_url.rstrip("/") + "/v1/messages"
        self._headers = {"x-api-key": api_key, "anthropic-version": API_VERSION}
        self._timeout_s = timeout_s

    def complete(self, request: ChatRequest) -> ChatResponse:
        answer, latency_ms = post_json(
            self._url, body=anthropic_body(request), headers=self._headers, timeout_s=self._timeout_s
        )
        return parse_message(answer, latency_ms=latency_ms)


def anthropic_body(request: ChatRequest) -> dict[str, Any]:
    """The Messages API request for an internal (OpenAI-format) request.

    The system prompt and the tool definitions are the stable prefix of every call in a
    session, so both carry a cache breakpoint: later steps read them at a tenth of the price.
    """
    system_parts = [_text(m.get("content")) for m in request.messages if m.get("role") == "system"]
    body: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": _messages(request.messages),
    }
    system = "\n\n".join(part for part in system_parts if part)
    if system:
        body["system"] = [{"type": "text", "text": system, "cache_control": _CACHE}]
    if request.tools:
        tools = [_tool(spec) for spec in request.tools]
        tools[-1]["cache_control"] = _CACHE
        body["tools"] = tools
    return body


def _messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Turns alternate user/assistant; tool results travel as tool_result blocks in a user turn."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "system":
            continue
        if role == "tool":
            blocks = [
                {
                    "type": "tool_result",
                    "tool_use_id": message.get("tool_call_id", ""),
                    "content": _text(message.get("content")),
                }
            ]
            role = "user"
        elif role == "assistant":
            blocks = _assistant_blocks(message)
        else:
            blocks = _content_blocks(message.get("content"))
            role = "user"
        if not blocks:
            continue  # the API rejects empty turns
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return turns


def _assistant_blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = _content_blocks(message.get("content"))
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id", ""),
                "name": function.get("name", ""),
                "input": _arguments(function.get("arguments")),
            }
        )
    return blocks


def _arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        parsed = json.loads(raw or "{}")
    except ValueError:
        parsed = None
    # A call the model sent with unparsable arguments was answered with an error; the API
    # still needs an object for it, so the history shows it as called with none.
    return parsed if isinstance(parsed, dict) else {}


def _content_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, list):
        # OpenAI content parts: text parts convert; anything else is assumed to be a
        # block the caller already wrote in Anthropic's shape.
        return [
            {"type": "text", "text": part.get("text", "")} if part.get("type") == "text" else part
            for part in content
            if part.get("type") != "text" or part.get("text")
        ]
    text = _text(content)
    return [{"type": "text", "text": text}] if text else []


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return json.dumps(content)


def _tool(spec: dict[str, Any]) -> dict[str, Any]:
    function = spec.get("function", spec)
    tool = {
        "name": function["name"],
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
    if function.get("description"):
        tool["description"] = function["description"]
    return tool


def parse_message(answer: dict[str, Any], *, latency_ms: float) -> ChatResponse:
    """Map an Anthropic message object to the internal ChatResponse."""
    blocks = answer.get("content")
    if not isinstance(blocks, list):
        raise ProviderError("response has no content blocks", kind="transient")
    texts, thinking, calls = [], [], []
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "thinking":
            thinking.append(block.get("thinking", ""))
        elif kind == "tool_use":
            arguments = block.get("input")
            calls.append(
                ToolCall(
                    id=block.get("id", ""),
                    name=block.get("name", ""),
                    arguments=arguments if isinstance(arguments, dict) else None,
                    raw_arguments=json.dumps(arguments),
                )
            )
    stop_reason = answer.get("stop_reason") or ""
    return ChatResponse(
        content="".join(texts),
        tool_calls=calls,
        usage=_usage(answer.get("usage") or {}),
        model=answer.get("model") or "",
        provider=AnthropicProvider.name,
        finish_reason=_FINISH_REASONS.get(stop_reason, stop_reason),
        latency_ms=latency_ms,
        response_id=answer.get("id") or "",
        reasoning="".join(thinking),
    )


def _usage(raw: dict[str, Any]) -> Usage:
    # Anthropic's input_tokens counts only the uncached remainder of the prompt.
    read = int(raw.get("cache_read_input_tokens") or 0)
    written = int(raw.get("cache_creation_input_tokens") or 0)
    return Usage(
        input_tokens=int(raw.get("input_tokens") or 0) + read + written,
        output_tokens=int(raw.get("output_tokens") or 0),
        cached_input_tokens=read,
        cache_write_tokens=written,
    )

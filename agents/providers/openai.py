"""Any OpenAI-compatible /chat/completions endpoint: OpenAI, vLLM, Ollama, LiteLLM, the simulator."""

import json
from typing import Any

from agents.providers.base import ChatRequest, ChatResponse, ProviderError, ToolCall, Usage
from agents.providers.http import post_json


class OpenAIProvider:
    def __init__(self, *, base_url: str, api_key: str, timeout_s: float, name: str = "openai") -> None:
        self.name = name
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout_s = timeout_s

    def complete(self, request: ChatRequest) -> ChatResponse:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": request.messages,
            # `max_tokens` rather than `max_completion_tokens`: every compatible server reads it.
            "max_tokens": request.max_tokens,
        }
        if request.tools:
            body["tools"] = request.tools
        answer, latency_ms = post_json(self._url, body=body, headers=self._headers, timeout_s=self._timeout_s)
        return parse_chat_completion(answer, provider=self.name, latency_ms=latency_ms)


def parse_chat_completion(answer: dict[str, Any], *, provider: str, latency_ms: float) -> ChatResponse:
    """Map an OpenAI chat.completion object to the internal ChatResponse."""
    try:
        choice = answer["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ProviderError("response has no choices[0].message", kind="transient") from exc
    return ChatResponse(
        content=message.get("content") or "",
        tool_calls=[_tool_call(raw) for raw in message.get("tool_calls") or []],
        usage=_usage(answer.get("usage") or {}),
        model=answer.get("model") or "",
        provider=provider,
        finish_reason=choice.get("finish_reason") or "",
        latency_ms=latency_ms,
        response_id=answer.get("id") or "",
        # vLLM and DeepSeek-style servers return the reasoning trace beside the content.
        reasoning=message.get("reasoning_content") or message.get("reasoning") or "",
    )


def _tool_call(raw: dict[str, Any]) -> ToolCall:
    function = raw.get("function") or {}
    raw_arguments = function.get("arguments")
    if isinstance(raw_arguments, dict):
        # Some compatible servers (older Ollama) send an object instead of a JSON string.
        return ToolCall(
            id=raw.get("id") or "",
            name=function.get("name") or "",
            arguments=raw_arguments,
            raw_arguments=json.dumps(raw_arguments),
        )
    text = raw_arguments or ""
    try:
        parsed = json.loads(text) if text.strip() else {}
    except ValueError:
        parsed = None
    return ToolCall(
        id=raw.get("id") or "",
        name=function.get("name") or "",
        arguments=parsed if isinstance(parsed, dict) else None,
        raw_arguments=text,
    )


def _usage(raw: dict[str, Any]) -> Usage:
    details = raw.get("prompt_tokens_details") or {}
    return Usage(
        input_tokens=int(raw.get("prompt_tokens") or 0),
        output_tokens=int(raw.get("completion_tokens") or 0),
        cached_input_tokens=int(details.get("cached_tokens") or 0),
    )

"""The internal shape of a chat turn, shared by every provider.

Messages use the OpenAI chat format (role, content, tool_calls, tool_call_id); providers
that speak another format (Anthropic's Messages API) convert at their boundary.
"""

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

ErrorKind = Literal["transient", "permanent", "rate_limit"]


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    # Parsed JSON arguments; a model that sent unparsable JSON gets `None` here and the raw text below.
    arguments: dict[str, Any] | None
    raw_arguments: str = ""


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0  # all prompt tokens, cached ones included
    output_tokens: int = 0
    cached_input_tokens: int = 0  # of input_tokens, read from the provider's prompt cache
    cache_write_tokens: int = 0  # of input_tokens, written to the prompt cache


@dataclass(frozen=True)
class ChatResponse:
    content: str
    tool_calls: list[ToolCall]
    usage: Usage
    model: str  # the model the provider says answered
    provider: str  # OpenTelemetry gen_ai.provider.name: "openai", "anthropic", "simulator"
    finish_reason: str
    latency_ms: float
    response_id: str = ""
    reasoning: str = ""


@dataclass(frozen=True)
class ChatRequest:
    model: str  # the provider's own model name (without the "sim/" or "openai/" routing prefix)
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)  # OpenAI "function" tool specs
    max_tokens: int = 1024


class ProviderError(Exception):
    """A model call that did not produce an answer, classified for retry decisions."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.status = status
        self.retry_after_s = retry_after_s


class ChatProvider(Protocol):
    name: str

    def complete(self, request: ChatRequest) -> ChatResponse: ...

"""Token counts that look like a real provider's, so budgets and costs work unchanged.

About four characters of English make a token; each message adds a few tokens of framing.
Like OpenAI's prompt cache, a prefix already sent in an earlier call of the conversation
(everything up to the last assistant message) counts as cached once it reaches 1024
tokens, in steps of 128.
"""

import json
from typing import Any

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 4
CACHE_MIN_TOKENS = 1024
CACHE_STEP_TOKENS = 128


def prompt_usage(messages: list[dict[str, Any]], tools: Any) -> tuple[int, int]:
    """(prompt tokens, of which cached) for a request."""
    tool_tokens = _tokens(len(json.dumps(tools))) if tools else 0
    per_message = [MESSAGE_OVERHEAD_TOKENS + _tokens(_message_chars(m)) for m in messages]
    total = tool_tokens + sum(per_message)
    last_assistant = max(
        (i for i, message in enumerate(messages) if message.get("role") == "assistant"), default=-1
    )
    if last_assistant < 0:
        return total, 0
    prefix = tool_tokens + sum(per_message[: last_assistant + 1])
    cached = prefix // CACHE_STEP_TOKENS * CACHE_STEP_TOKENS if prefix >= CACHE_MIN_TOKENS else 0
    return total, cached


def completion_tokens(message: dict[str, Any]) -> int:
    return max(_tokens(_message_chars(message)), 1)


def _message_chars(message: dict[str, Any]) -> int:
    content = message.get("content")
    if isinstance(content, str):
        chars = len(content)
    elif isinstance(content, list):
        chars = sum(len(part.get("text", "")) for part in content if isinstance(part, dict))
    else:
        chars = 0
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else []:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            chars += len(str(function.get("name", ""))) + len(str(function.get("arguments", "")))
    return chars


def _tokens(chars: int) -> int:
    return (chars + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN

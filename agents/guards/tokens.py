"""Token counting for budgets and context control, offline.

tiktoken needs its BPE files, which it downloads on first use; nothing may download at run
time, so it is used only when TIKTOKEN_CACHE_DIR names a folder an operator filled in
advance. Otherwise a character estimate is used: about four characters per token for
English and JSON (the simulator bills the same way), three for the worst case a cost
reservation must cover.
"""

import json
import math
import os
from functools import cache
from typing import Any

# Framing tokens per message (role, separators), as OpenAI's cookbook counts them.
PER_MESSAGE = 4


@cache
def _encoding() -> Any:
    if not os.environ.get("TIKTOKEN_CACHE_DIR"):
        return None
    try:
        import tiktoken

        return tiktoken.get_encoding("o200k_base")
    except Exception:  # any failure (a missing file, no network) means: estimate
        return None


def text_tokens(text: str, *, worst_case: bool = False) -> int:
    encoding = _encoding()
    if encoding is not None:
        return len(encoding.encode(text, disallowed_special=()))
    return math.ceil(len(text) / (3 if worst_case else 4))


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    text = content if isinstance(content, str) else json.dumps(content) if content is not None else ""
    if message.get("tool_calls"):
        text += json.dumps(message["tool_calls"])
    return text


def messages_tokens(
    messages: list[dict[str, Any]], *, tools: list[dict[str, Any]] | None = None, worst_case: bool = False
) -> int:
    total = sum(text_tokens(message_text(m), worst_case=worst_case) + PER_MESSAGE for m in messages)
    if tools:
        total += text_tokens(json.dumps(tools), worst_case=worst_case)
    return total

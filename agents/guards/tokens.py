"""Token counting for budgets and context control, offline.

Two different questions, two answers:
- An estimate (context control, the token budget, routing): tiktoken when TIKTOKEN_CACHE_DIR
  names a folder an operator filled with its BPE files in advance (it would download them
  otherwise, and nothing may download at run time), else about four characters per token,
  right for English and JSON (the simulator bills the same way).
- A bound (worst_case=True, what a cost reservation covers): the text's UTF-8 length in bytes.
  Every tokenizer of the supported providers is a byte-level BPE, in which each token stands
  for at least one byte of the text, so a text of n bytes is never more than n tokens, in any
  script and for base64 alike (characters / 3, used before, fell short by more than half on
  base64 and nearly threefold on Chinese). It makes a reservation about four times an English prompt's real
  size; the reservation is settled to the real cost right after the call (docs/guardrails.md).
"""

import json
import math
import os
from functools import cache
from typing import Any

# Framing tokens per message (role, separators), as OpenAI's cookbook counts them.
PER_MESSAGE = 4
# The worst case adds what a provider puts around tool definitions beyond their JSON: Anthropic
# documents a tool-use system prompt of up to 346 tokens; OpenAI's rendering is shorter than JSON.
TOOLS_OVERHEAD = 500


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
    if worst_case:
        # A lone surrogate (possible in decoded JSON) counts as the 3 bytes it would take.
        return len(text.encode("utf-8", "surrogatepass"))
    encoding = _encoding()
    if encoding is not None:
        return len(encoding.encode(text, disallowed_special=()))
    return math.ceil(len(text) / 4)


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
        if worst_case:
            total += TOOLS_OVERHEAD
    return total

"""Building the conversation a model sees, in the internal (OpenAI chat) format."""

import json
from typing import Any

from agents.memory.context import memory_message, without_memory
from agents.models import Task
from agents.providers.base import ChatResponse
from agents.tools.result import ToolResult


def initial_messages(task: Task) -> list[dict[str, Any]]:
    """The session's earlier conversation, the memories recalled for the input, then the input."""
    previous = (
        Task.objects.filter(session_id=task.session_id, created_at__lt=task.created_at)
        .exclude(messages=[])
        .order_by("-created_at")
        .values_list("messages", flat=True)
        .first()
    )
    history = without_memory(list(previous or []))
    recalled = memory_message(task, agent_id=task.session.agent_id)
    return [*history, *recalled, {"role": "user", "content": task.input}]


def previous_prompt_kept(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> int:
    """How many leading messages of `after` (the conversation sent at this step) were also the
    previous step's: that step sent everything before its reply (the last assistant message of
    `before`, the checkpointed conversation), and context control may since have rewritten some."""
    reply = next((i for i in range(len(before) - 1, -1, -1) if before[i].get("role") == "assistant"), 0)
    if after is before:
        return reply
    same = 0
    limit = min(reply, len(after))
    while same < limit and before[same] == after[same]:
        same += 1
    return same


def with_system_prompt(system_prompt: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not system_prompt:
        return messages
    return [{"role": "system", "content": system_prompt}, *messages]


def assistant_message(response: ChatResponse) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": response.content or None}
    if response.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": call.raw_arguments or json.dumps(call.arguments or {}),
                },
            }
            for call in response.tool_calls
        ]
    return message


def tool_message(call_id: str, result: ToolResult) -> dict[str, Any]:
    # The model sees the whole structured result (status, error type, retry_safe), never a traceback.
    return {
        "role": "tool",
        "tool_call_id": call_id,
        "content": json.dumps(result.as_dict(), default=str, sort_keys=True),
    }


def last_answer(messages: list[dict[str, Any]]) -> str:
    """The best answer so far: the latest assistant text, for a halted task's partial result."""
    for message in reversed(messages):
        if message.get("role") == "assistant" and message.get("content"):
            return str(message["content"])
    return ""

"""Building the conversation a model sees, in the internal (OpenAI chat) format."""

import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection

from agents.memory.context import memory_message, without_memory
from agents.models import Task
from agents.providers.base import ChatResponse
from agents.tools.result import ToolResult
from core.raw_rows import row_columns, row_instance, row_table


@dataclass(frozen=True)
class Opening:
    """How a task's conversation begins: the session's earlier conversation, referred to (a
    finished task's, which no longer changes) or copied (a task still running), then its own."""

    history_task_id: uuid.UUID | None  # referred to: the first history_messages of its conversation
    history: list[dict[str, Any]]
    own: list[dict[str, Any]]  # what the task stores: a copied history, memories, the input
    # How many leading messages of the history the earlier task's last model call was sent
    # too (so that the first model span refers to it); 0 when it did not succeed.
    history_sent: int = 0


def initial_messages(task: Task, *, recall: bool = True, earlier_tasks: bool = True) -> Opening:
    """The session's earlier conversation, the memories recalled for the input, then the input.
    `recall` false: the agent has no memories, so none is looked for. `earlier_tasks` false:
    the session has no task but this one (its first), so no earlier conversation is looked for."""
    previous = _previous_task(task) if earlier_tasks else None
    earlier = task_conversation(previous) if previous is not None else []
    history = without_memory(earlier)
    recalled = memory_message(task, agent_id=task.session.agent_id) if recall else []
    own = [*recalled, {"role": "user", "content": task.input}]
    if previous is None or not previous.is_final:
        return Opening(history_task_id=None, history=[], own=[*history, *own])
    # A task that succeeded ended on its last call's reply: that call was sent all before it,
    # which the history repeats up to its first memory note (left out of the history).
    sent = previous_prompt_kept(earlier, history) if previous.status == Task.Status.SUCCEEDED else 0
    return Opening(history_task_id=previous.id, history=history, own=own, history_sent=sent)


def _previous_task(task: Task) -> Task | None:
    """The session's latest task before this one that has a conversation (hand-written: it
    runs at every task's start, and the ORM's compilation cost several times its execution)."""
    with connection.cursor() as cursor:
        cursor.execute(_PREVIOUS, [task.session_id, task.created_at])
        row = cursor.fetchone()
    return row_instance(Task, row) if row is not None else None


_PREVIOUS = f"""
SELECT {row_columns(Task, "t")} FROM {row_table(Task)} t
WHERE t.session_id = %s AND t.created_at < %s AND t.messages <> '[]'::jsonb
ORDER BY t.created_at DESC LIMIT 1
"""  # noqa: S608 - the names are the model's own; the values are parameters


def task_conversation(task: Task) -> list[dict[str, Any]]:
    """A task's whole conversation: its history (the earlier tasks' it refers to, memory notes
    left out) and its own messages. One query for a task that refers to earlier ones."""
    if task.history_task_id is None:
        return list(task.messages)
    earlier = {
        row["id"]: row
        for row in Task.objects.filter(session_id=task.session_id, created_at__lt=task.created_at).values(
            "id", "messages", "history_task_id", "history_messages"
        )
    }
    chain: list[Any] = [{"messages": task.messages, "history_messages": task.history_messages}]
    row = earlier.get(task.history_task_id)
    while row is not None:
        chain.append(row)
        row = earlier.get(row["history_task_id"]) if row["history_task_id"] else None
    conversation: list[dict[str, Any]] = list(chain[-1]["messages"])
    for link in reversed(chain[:-1]):
        conversation = [*without_memory(conversation)[: link["history_messages"]], *link["messages"]]
    return conversation


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


def system_messages(system_prompt: str) -> int:
    """How many messages with_system_prompt puts before the conversation."""
    return 1 if system_prompt else 0


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

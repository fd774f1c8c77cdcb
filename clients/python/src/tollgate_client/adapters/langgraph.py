"""LangGraph: a tool node whose calls wait on Tollgate, with no duplicate side effect on resume.

LangGraph resumes an interrupted node by running it again from its start. The node below asks
the gate for each tool call with the call's id as idempotency key, so running it again finds
the same action (never a second request for reviewers); a call still pending interrupts the
graph (the caller waits for the decision, then resumes it); an allowed call runs once and is
reported, and a call that already ran answers with its recorded result instead of running.
"""

import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt

from tollgate_client.client import Tollgate
from tollgate_client.types import ActionDenied


class ToolNode(Protocol):
    def __call__(self, state: Any, config: RunnableConfig) -> dict[str, Any]: ...


def tollgate_tool_node(
    tollgate: Tollgate, tools: Mapping[str, Callable[..., Any]], *, messages_key: str = "messages"
) -> "ToolNode":
    """A node that runs the last assistant message's tool calls (OpenAI message dicts) through
    Tollgate. The session is the graph's thread id."""

    # LangGraph hands a node its config when the parameter is annotated RunnableConfig.
    def node(state: Any, config: RunnableConfig) -> dict[str, Any]:
        session = str((config.get("configurable") or {})["thread_id"])
        replies = []
        for call in state[messages_key][-1].get("tool_calls") or []:
            name, arguments = call["function"]["name"], json.loads(call["function"]["arguments"] or "{}")
            decision = tollgate.ask(name, arguments, session=session, idempotency_key=call["id"])
            if decision.pending:
                interrupt({"action": decision.id, "tool": name, "autosend_at": decision.autosend_at})
            try:
                result = tollgate.run(decision, tools[name])
            except ActionDenied as denied:
                result = f"Tollgate refused this call: {denied.reason}"
            replies.append({"role": "tool", "tool_call_id": call["id"], "content": json.dumps(result)})
        return {messages_key: replies}

    return node


def pending_actions(result: Mapping[str, Any]) -> list[str]:
    """The action ids a graph run stopped for (its `__interrupt__` values)."""
    return [item.value["action"] for item in result.get("__interrupt__", ()) if "action" in item.value]

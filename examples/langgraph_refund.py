"""A LangGraph agent whose tool node waits on Tollgate; resuming never repeats a side effect.

Run it against `make run`'s stack (the simulator plays the model):

    TOLLGATE_TOKEN=<token> python examples/langgraph_refund.py

The model node asks the simulator (OpenAI's chat-completions API) and gets a `refund_order`
call; the tool node asks Tollgate; a call waiting for a reviewer interrupts the graph; this
script waits for the decision (a long-poll), then resumes the graph, which runs the tool node
again: the same action is found, the refund runs once, and its result is reported.
"""

import operator
import os
import uuid
from typing import Annotated, Any, TypedDict

import httpx
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command
from tollgate_client import Tollgate
from tollgate_client.adapters.langgraph import pending_actions, tollgate_tool_node

REFUNDS: list[dict] = []  # the side effect, so the example (and its test) can count it
TOOLS_SPEC = [
    {
        "type": "function",
        "function": {
            "name": "refund_order",
            "description": "Refund order i.",
            "parameters": {"type": "object", "properties": {"i": {"type": "integer"}}, "required": ["i"]},
        },
    }
]


class State(TypedDict):
    messages: Annotated[list[dict[str, Any]], operator.add]


def refund_order(i: int) -> dict:
    REFUNDS.append({"i": i})
    return {"refund_id": f"R-{i}"}


def build_graph(tollgate: Tollgate, simulator_url: str) -> Any:
    def model(state: State) -> dict:
        body = {
            "model": "chain?calls=1&tool=refund_order",
            "messages": state["messages"],
            "tools": TOOLS_SPEC,
        }
        reply = httpx.post(f"{simulator_url}/v1/chat/completions", json=body, timeout=30).json()
        message = reply["choices"][0]["message"]
        return {"messages": [{key: value for key, value in message.items() if value is not None}]}

    def route(state: State) -> str:
        return "tools" if state["messages"][-1].get("tool_calls") else END

    graph: StateGraph[State] = StateGraph(State)
    graph.add_node("model", model)
    graph.add_node("tools", tollgate_tool_node(tollgate, {"refund_order": refund_order}))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", route, ["tools", END])
    graph.add_edge("tools", "model")
    return graph.compile(checkpointer=InMemorySaver())


def run(tollgate: Tollgate, simulator_url: str, thread: str) -> str:
    graph = build_graph(tollgate, simulator_url)
    config = {"configurable": {"thread_id": thread}}
    result = graph.invoke({"messages": [{"role": "user", "content": "Please refund my order."}]}, config)
    while waiting := pending_actions(result):
        for action_id in waiting:
            tollgate.wait(tollgate.get(action_id))  # a long-poll until reviewers (or the clock) decide
        result = graph.invoke(Command(resume=True), config)
    return str(result["messages"][-1]["content"])


if __name__ == "__main__":
    tollgate = Tollgate(
        os.environ.get("TOLLGATE_URL", "http://127.0.0.1:8000"),
        os.environ["TOLLGATE_TOKEN"],
        agent="langgraph-refunds",
    )
    print(
        run(tollgate, os.environ.get("SIMULATOR_URL", "http://127.0.0.1:8765"), f"lg-{uuid.uuid4().hex[:8]}")
    )

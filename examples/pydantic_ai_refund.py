"""A Pydantic AI agent whose refunds wait for Tollgate (deferred tool approvals).

Run it against `make run`'s stack (the simulator plays the model):

    TOLLGATE_TOKEN=<token> python examples/pydantic_ai_refund.py

The model (the simulator's `chain` scenario) asks to call `refund_order`; the run stops with the
call deferred; Tollgate's policy decides it (a reviewer approves, edits or rejects it in the
console's queue when its tier asks for people); the next run executes it once and reports it.
"""

import os
import uuid

from pydantic_ai import Agent, RunContext
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.tools import DeferredToolRequests
from tollgate_client import Tollgate
from tollgate_client.adapters.pydantic_ai import TollgateApprovals

REFUNDS: list[dict] = []  # the side effect, so the example (and its test) can count it


def build_agent(simulator_url: str, approvals: TollgateApprovals) -> Agent[None, str | DeferredToolRequests]:
    model = OpenAIChatModel(
        "chain?calls=1&tool=refund_order",
        provider=OpenAIProvider(base_url=f"{simulator_url}/v1", api_key="simulator"),
    )
    agent: Agent[None, str | DeferredToolRequests] = Agent(model, output_type=[str, DeferredToolRequests])

    @agent.tool(requires_approval=True)
    @approvals.tool
    def refund_order(ctx: RunContext[None], i: int) -> dict:
        """Refund order i."""
        REFUNDS.append({"i": i})
        return {"refund_id": f"R-{i}"}

    return agent


def run(tollgate: Tollgate, simulator_url: str, session: str) -> str:
    approvals = TollgateApprovals(tollgate, session=session)
    agent = build_agent(simulator_url, approvals)
    result = agent.run_sync("Please refund my order.")
    while isinstance(result.output, DeferredToolRequests):
        decided = approvals.resolve(result.output)  # waits for reviewers when the policy says so
        result = agent.run_sync(message_history=result.all_messages(), deferred_tool_results=decided)
    return result.output


if __name__ == "__main__":
    tollgate = Tollgate(
        os.environ.get("TOLLGATE_URL", "http://127.0.0.1:8000"),
        os.environ["TOLLGATE_TOKEN"],
        agent="pydantic-ai-refunds",
    )
    print(
        run(tollgate, os.environ.get("SIMULATOR_URL", "http://127.0.0.1:8765"), f"pai-{uuid.uuid4().hex[:8]}")
    )

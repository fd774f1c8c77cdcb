"""An OpenAI Agents SDK agent whose refunds are gated by Tollgate (the `needs_approval` hook).

Run it against `make run`'s stack (the simulator plays the model):

    TOLLGATE_TOKEN=<token> python examples/openai_agents_refund.py

The model (the simulator's `chain` scenario, over the chat-completions API) calls
`refund_order`; the tool's `needs_approval` hook asks Tollgate; a call waiting for a reviewer
interrupts the run; `gate.resolve` waits for the decision and approves or rejects it in the
run state; the resumed run executes the refund once, with the arguments the reviewer approved.
The last line printed is JSON: the final output and the refunds made.
"""

import asyncio
import json
import os
import uuid

from agents.tool_context import ToolContext
from openai import AsyncOpenAI
from tollgate_client import AsyncTollgate
from tollgate_client.adapters.openai_agents import TollgateGate

from agents import Agent, OpenAIChatCompletionsModel, Runner, set_tracing_disabled

REFUNDS: list[dict] = []  # the side effect, so the example (and its test) can count it


async def run(tollgate: AsyncTollgate, simulator_url: str, session: str) -> str:
    gate = TollgateGate(tollgate, session=session, timeout=120)

    async def refund_order(ctx: ToolContext, i: int) -> dict:
        """Refund order i."""
        REFUNDS.append({"i": i})
        return {"refund_id": f"R-{i}"}

    model = OpenAIChatCompletionsModel(
        "chain?calls=1&tool=refund_order",
        openai_client=AsyncOpenAI(base_url=f"{simulator_url}/v1", api_key="simulator"),
    )
    agent = Agent(name="refunds", instructions="Refund orders.", model=model, tools=[gate.tool(refund_order)])
    result = await Runner.run(agent, "Please refund my order.")
    while result.interruptions:
        result = await Runner.run(agent, await gate.resolve(result))
    return str(result.final_output)


async def main() -> None:
    set_tracing_disabled(True)  # the SDK's own tracing would call OpenAI's servers
    async with AsyncTollgate(
        os.environ.get("TOLLGATE_URL", "http://127.0.0.1:8000"),
        os.environ["TOLLGATE_TOKEN"],
        agent="openai-agents-refunds",
    ) as tollgate:
        session = os.environ.get("TOLLGATE_SESSION", f"oai-{uuid.uuid4().hex[:8]}")
        output = await run(tollgate, os.environ.get("SIMULATOR_URL", "http://127.0.0.1:8765"), session)
    print(json.dumps({"output": output, "refunds": REFUNDS}))


if __name__ == "__main__":
    asyncio.run(main())

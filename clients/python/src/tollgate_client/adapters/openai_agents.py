"""OpenAI Agents SDK: function tools gated by Tollgate through the SDK's `needs_approval` hook.

`gate.tool` makes a function tool whose `needs_approval` hook asks Tollgate about each call
(keyed by the call id, so asking again never makes a second request): a call Tollgate allows
at once runs, one it holds for people becomes an SDK interruption. `gate.resolve(result)`
waits for Tollgate's decisions on the interruptions and approves or rejects them in the run
state (the reviewer's reason is what the model is told). The tool then runs with Tollgate's
final arguments (the SDK's own approvals cannot edit them), once, reports the outcome, and
answers a denial with its reason.
"""

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from agents.tool_context import ToolContext

from agents import FunctionTool, RunContextWrapper, RunResult, RunState, function_tool
from tollgate_client.aio import AsyncTollgate
from tollgate_client.types import Decision


class TollgateGate:
    def __init__(self, tollgate: AsyncTollgate, *, session: str | None = None, timeout: float | None = None):
        self.tollgate, self.session, self.timeout = tollgate, session, timeout
        self.decisions: dict[str, Decision] = {}  # by call id

    async def resolve(self, result: RunResult) -> RunState[Any]:
        """Tollgate's decisions on the run's interruptions, applied to its state."""
        state = result.to_state()
        for item in result.interruptions:
            call_id = str(getattr(item.raw_item, "call_id", ""))
            decision = await self.tollgate.wait(self.decisions[call_id], timeout=self.timeout)
            self.decisions[call_id] = decision
            if decision.allowed:
                state.approve(item)
            else:
                state.reject(item, rejection_message=f"Tollgate refused this call: {decision.reason}")
        return state

    def tool(self, function: Callable[..., Awaitable[Any]]) -> FunctionTool:
        """`async def tool(ctx: ToolContext, ...)` as an SDK function tool that Tollgate governs:
        asked about in `needs_approval`, run with the final arguments, once, reported."""
        name = function.__name__

        async def needs_approval(ctx: RunContextWrapper[Any], params: dict[str, Any], call_id: str) -> bool:
            decision = await self.tollgate.ask(name, params, session=self.session, idempotency_key=call_id)
            self.decisions[call_id] = decision
            return decision.pending  # interrupt the run only while people must decide

        @functools.wraps(function)
        async def governed(ctx: ToolContext[Any], *args: Any, **kwargs: Any) -> Any:
            decision = self.decisions.get(ctx.tool_call_id)
            if decision is None or decision.pending:
                decision = await self.tollgate.gate(
                    name, kwargs, session=self.session, idempotency_key=ctx.tool_call_id, timeout=self.timeout
                )
            return await self.tollgate.run(
                decision, lambda **arguments: function(ctx, **arguments), on_deny="return"
            )

        return function_tool(governed, name_override=name, needs_approval=needs_approval)

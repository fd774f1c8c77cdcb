"""Pydantic AI: deferred tool approvals decided by Tollgate.

Register the tools Tollgate governs with `requires_approval=True` and wrap their functions
with `approvals.tool`. A run that calls them ends with `DeferredToolRequests`; `resolve` asks
the gate for each call (keyed by its tool-call id, so asking again never makes a second
request), waits for people where the policy says so, and answers with `ToolApproved` (with
the arguments a reviewer edited) or `ToolDenied` (with the reason). The next run executes the
approved calls; `approvals.tool` reports each outcome to Tollgate once.
"""

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from pydantic_ai import RunContext
from pydantic_ai.tools import DeferredToolRequests, DeferredToolResults, ToolApproved, ToolDenied

from tollgate_client.client import Tollgate
from tollgate_client.types import ActionDenied, Decision

P = ParamSpec("P")
R = TypeVar("R")


class TollgateApprovals:
    def __init__(
        self, tollgate: Tollgate, *, session: str | None = None, timeout: float | None = None
    ) -> None:
        self.tollgate, self.session, self.timeout = tollgate, session, timeout
        self.decisions: dict[str, Decision] = {}  # by tool-call id

    def resolve(self, requests: DeferredToolRequests) -> DeferredToolResults:
        """Tollgate's decision on every call awaiting approval (waits for pending ones)."""
        approvals: dict[str, ToolApproved | ToolDenied] = {}
        for call in requests.approvals:
            decision = self.tollgate.gate(
                call.tool_name,
                call.args_as_dict(),
                session=self.session,
                idempotency_key=call.tool_call_id,
                timeout=self.timeout,
            )
            self.decisions[call.tool_call_id] = decision
            if decision.allowed:
                approvals[call.tool_call_id] = ToolApproved(override_args=decision.arguments)
            else:
                approvals[call.tool_call_id] = ToolDenied(decision.reason)
        return requests.build_results(approvals=approvals)

    def tool(
        self, function: Callable[Concatenate[RunContext[Any], P], R]
    ) -> Callable[Concatenate[RunContext[Any], P], R]:
        """Run an approved call through Tollgate: once, reported, never after a denial."""

        @functools.wraps(function)
        def reported(ctx: RunContext[Any], *args: P.args, **kwargs: P.kwargs) -> R:
            decision = self.decisions.get(ctx.tool_call_id or "")
            if decision is None:
                raise ActionDenied(_unknown(ctx))
            result: R = self.tollgate.run(
                decision,
                lambda **arguments: function(ctx, **arguments),  # type: ignore[call-arg]
            )
            return result

        return reported


def _unknown(ctx: RunContext[Any]) -> Decision:
    return Decision.from_json(
        {
            "id": "",
            "decision": "deny",
            "status": "unknown",
            "tier": "",
            "reason": f"call {ctx.tool_call_id} was not approved through Tollgate",
        }
    )

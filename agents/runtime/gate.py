"""The tool-call gate: the one question the runtime asks before a tool call runs.

The runtime knows nothing of how the answer is reached (risk tiers, rules, reviewers): an app
that governs tool calls registers its gate in `AppConfig.ready()` (approvals does). Without one,
every call runs.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from agents.models import Task, Tool
from agents.providers.base import ToolCall
from agents.tools.result import ToolResult


@dataclass(frozen=True)
class GateAnswer:
    """`result` set: answer the call with it, without running the tool here. Otherwise run it,
    with `arguments` and `idempotency_key` when the gate fixed them (an approved, maybe edited
    request). `ticket` is the gate's own handle, handed back to `record` after the call ran.

    `declined`: people decided the call does not run (rejected, expired, cancelled, or a person
    must act): `result` tells the model so, but the tool did not fail, so the trace and the
    metrics do not count it as a tool error. `waited`: when the call waited for people, from
    when to when (the trace shows it as a wait span). `verdict`: what the gate's policy said of
    the call, for the trace and for comparing runs (replay): {"tier", "rule", "decision",
    "policy_version"}, where decision is allow | autosend | approval | deny; None when no
    policy was asked (no gate, or arguments the executor refuses anyway)."""

    result: ToolResult | None = None
    arguments: dict[str, Any] | None = None
    idempotency_key: str | None = None
    ticket: Any = None
    declined: str = ""
    waited: tuple[datetime, datetime] | None = None
    verdict: dict[str, Any] | None = None


# The tool span's attributes that carry a GateAnswer's verdict.
GATE_VERDICT_ATTRIBUTES = {
    "tier": "tollgate.gate.tier",
    "decision": "tollgate.gate.decision",
    "rule": "tollgate.gate.rule",
    "policy_version": "tollgate.gate.policy_version",
}


def verdict_attributes(verdict: dict[str, Any] | None) -> dict[str, Any]:
    """A verdict as tool span attributes; a missing rule (the tool's default tier) is left out."""
    if not verdict:
        return {}
    return {
        attribute: verdict[key]
        for key, attribute in GATE_VERDICT_ATTRIBUTES.items()
        if verdict.get(key) is not None
    }


def verdict_from_attributes(attributes: dict[str, Any]) -> dict[str, Any] | None:
    """The verdict a tool span recorded, or None if it holds none."""
    if GATE_VERDICT_ATTRIBUTES["tier"] not in attributes:
        return None
    return {key: attributes.get(attribute) for key, attribute in GATE_VERDICT_ATTRIBUTES.items()}


class ToolCallHeld(Exception):
    """The call waits for people: the task must park (release its worker) until they decide."""

    def __init__(self, hold_id: uuid.UUID) -> None:
        super().__init__(f"held for a decision: {hold_id}")
        self.hold_id = hold_id


class ToolGate(Protocol):
    def check(
        self,
        *,
        task: Task,
        agent_name: str,
        tool: Tool,
        step_index: int,
        call_index: int,
        call: ToolCall,
        may_be_known: bool,
    ) -> GateAnswer:
        """Run, answer, or raise ToolCallHeld. `may_be_known` is false for a step whose model
        reply this run just received: the gate has never seen its calls."""
        ...

    def record(self, *, answer: GateAnswer, result: ToolResult) -> ToolResult:
        """After a call the gate let run: store its outcome; returns what the model is told."""
        ...

    def outcome_unknown(
        self,
        *,
        task: Task,
        agent_name: str,
        tool: Tool,
        step_index: int,
        call_index: int,
        call: ToolCall,
        answer: GateAnswer,
        sent: dict[str, Any],
    ) -> ToolResult:
        """A call that may be sent at most once was sent (`sent` is the request) and its worker
        died before its answer was recorded: it is never sent again. Raise ToolCallHeld until a
        person records what happened, or return what the model is told."""
        ...

    def park(self, *, task_id: uuid.UUID, hold_id: uuid.UUID) -> bool:
        """Running → waiting for people, unless the hold was decided meanwhile (then False)."""
        ...


class OpenGate:
    """Every call runs: the gate of a runtime that no app governs."""

    def check(self, **_call: Any) -> GateAnswer:
        return GateAnswer()

    def record(self, *, answer: GateAnswer, result: ToolResult) -> ToolResult:
        return result

    def outcome_unknown(self, *, tool: Tool, **_call: Any) -> ToolResult:
        # Nobody to ask: the model is told the truth, that nobody knows.
        return outcome_unknown_result(tool_name=tool.name)

    def park(self, *, task_id: uuid.UUID, hold_id: uuid.UUID) -> bool:
        return False


def outcome_unknown_result(*, tool_name: str) -> ToolResult:
    return ToolResult.error(
        "permanent",
        f"The call to {tool_name} was sent, but its answer was lost, so whether it took effect is "
        "unknown. It was not sent again. Do not call it again: tell the user it must be checked.",
        data={"outcome": "unknown"},
    )


_gate: ToolGate = OpenGate()


def gate_register(gate: ToolGate) -> None:
    global _gate
    _gate = gate


def tool_gate() -> ToolGate:
    return _gate

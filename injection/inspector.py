"""The injection app's tool-result inspector (agents/runtime/inspect.py), registered by
InjectionConfig.ready(): an untrusted tool's result is scanned, taints the session, is recorded
when a detector fires, and reaches the model spotlighted, quarantined or not at all."""

from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from agents.models import Tool
from agents.models.tool import InjectionAction, Trust
from agents.providers.base import ToolCall
from agents.runtime.inspect import Inspection
from agents.runtime.turns import turn_given_back
from agents.tools.result import ToolResult
from core import clock
from injection.detect import ScanResult, scan
from injection.external import external_classifier
from injection.quarantine import quarantine
from injection.records import detection_record
from injection.spotlight import result_text, spotlight
from injection.taint import session_taint
from tracing.recorder import DETECTION_EVENT, EVENTS_ATTRIBUTE, SpanBuffer

if TYPE_CHECKING:
    from agents.runtime.state import RunState

# A result is scanned up to this many characters (the engine scans long texts in chunks).
MAX_SCAN_CHARS = 1_000_000
# Span events per tool span: one per finding, the strongest first.
MAX_EVENTS = 20


def blocked_result(*, tool: str, found: ScanResult, detection_id: int) -> ToolResult:
    """What the model is told instead of a blocked result: that it was withheld, not what it said."""
    return ToolResult.error(
        "permanent",
        f"Tollgate withheld the result of {tool}: it carried instructions injected by a third "
        f"party ({', '.join(found.detectors)}). Do not call {tool} again for the same thing; carry "
        "on without it, or tell the user that the source could not be used.",
        data={"withheld": True, "tool": tool, "detectors": found.detectors, "detection": detection_id},
    )


def detection_span_attributes(found: ScanResult, *, action: str) -> dict[str, Any]:
    findings = sorted(found.findings, key=lambda finding: -finding.score)[:MAX_EVENTS]
    return {
        "tollgate.injection.score": found.score,
        "tollgate.injection.action": action,
        "tollgate.injection.detectors": found.detectors,
        EVENTS_ATTRIBUTE: [
            {
                "name": DETECTION_EVENT,
                "attributes": {
                    "tollgate.injection.detector": finding.detector,
                    "tollgate.injection.score": finding.score,
                    "tollgate.injection.snippet": finding.snippet,
                },
            }
            for finding in findings
        ],
    }


class InjectionInspector:
    def inspect(
        self,
        *,
        state: "RunState",
        spans: SpanBuffer,
        tool: Tool,
        call: ToolCall,
        step_index: int,
        call_index: int,
        result: ToolResult,
    ) -> Inspection:
        if tool.trust == Trust.TRUSTED:
            return Inspection(result=result)
        external = external_classifier()
        # The external classifier's answer is a wait like a tool's: the run's CPU turn goes back.
        with turn_given_back() if external is not None else nullcontext():
            found = scan(result_text(result, limit=MAX_SCAN_CHARS), tool=tool.name, external=external)
        task = state.task
        session_taint(session_id=task.session_id, source=tool.name, suspicious=found.flagged)
        if not found.flagged:
            return Inspection(
                result=spotlight(result, tool=tool.name),
                span_attributes={"tollgate.tool.trust": tool.trust, "tollgate.injection.score": found.score},
            )
        action = tool.injection_action
        detection = detection_record(
            task=task,
            agent_name=state.version.agent.name,
            source=tool.name,
            step_index=step_index,
            call_index=call_index,
            found=found,
            action=action,
        )
        attributes = {"tollgate.tool.trust": tool.trust, **detection_span_attributes(found, action=action)}
        _guardrail_span(state, spans, step_index=step_index, tool=tool.name, found=found, action=action)
        if action == InjectionAction.BLOCK:
            return Inspection(
                result=blocked_result(tool=tool.name, found=found, detection_id=detection.pk),
                span_attributes=attributes,
            )
        if action == InjectionAction.QUARANTINE:
            summary, cost = quarantine(state, spans, tool=tool.name, result=result, step_index=step_index)
            return Inspection(result=summary, span_attributes=attributes, cost=cost)
        return Inspection(result=spotlight(result, tool=tool.name), span_attributes=attributes)


def _guardrail_span(
    state: "RunState", spans: SpanBuffer, *, step_index: int, tool: str, found: ScanResult, action: str
) -> None:
    guardrail_span_add(
        spans, session_id=state.task.session_id, step_index=step_index, tool=tool, found=found, action=action
    )


def guardrail_span_add(
    spans: SpanBuffer, *, session_id: Any, step_index: int | None, tool: str, found: ScanResult, action: str
) -> None:
    """The decision on a flagged result as a guardrail span: the waterfall shows it, the
    guardrail counter and the injection-spike alert rule (tracing/alerts/rules.py) count it."""
    now = clock.now()
    spans.add(
        name="guardrail injection",
        kind="guardrail",
        step_index=step_index,
        started_at=now,
        ended_at=now,
        attributes={
            "tollgate.guardrail.name": "injection",
            "tollgate.guardrail.verdict": action,
            "tollgate.guardrail.reason": f"{', '.join(found.detectors)} in the result of {tool}",
            "gen_ai.tool.name": tool,
            "gen_ai.conversation.id": str(session_id),
        },
        output={"score": found.score, "detectors": found.detectors},
    )

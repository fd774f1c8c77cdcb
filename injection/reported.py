"""Tool outputs of agents that run elsewhere: results reported through the gate API and the
outputs of `execute_tool` spans sent to the OTLP receiver.

They are read as the runtime's tool results are (injection/inspector.py): an untrusted tool's
output is scanned, taints the session, and is recorded when a detector fires, so the session's
later gate calls meet the taint rules. Tollgate never hands these outputs to a model, so nothing
is spotlighted, quarantined or withheld: a detection's action is `flag`.

Scanning and tainting are two steps: callers scan before their transaction (no row stays locked
while the detectors and an external classifier run) and taint inside it, with the write that
records the output, so an output is never stored without its taint.
"""

from typing import Any

from agents.models import Task
from agents.models.tool import InjectionAction, Trust
from agents.services.external import external_index_next
from agents.tools.result import ToolResult
from injection.detect import ScanResult, scan
from injection.external import external_classifier
from injection.inspector import MAX_SCAN_CHARS, detection_span_attributes, guardrail_span_add
from injection.records import detection_record
from injection.spotlight import result_text
from injection.taint import session_taint
from tracing.recorder import SpanBuffer


def reported_output_scan(*, tool_name: str, trust: str, output: Any) -> ScanResult | None:
    """The scan of what `tool_name` (of `trust`: agents.services.external.external_tools_trust)
    returned; None when the tool is trusted (its output is not scanned and taints nothing, as
    for the runtime's trusted tools)."""
    if trust == Trust.TRUSTED:
        return None
    text = result_text(ToolResult(status="success", data=output), limit=MAX_SCAN_CHARS)
    return scan(text, tool=tool_name, external=external_classifier())


def reported_output_taint(*, task: Task, tool_name: str, found: ScanResult, step_index: int | None) -> None:
    """Taint the session with a scanned output (suspicious if a detector fired); a flagged one
    is recorded as a detection at `step_index` (its action request's), or at a new index of
    the session when the call has none, with a `guardrail injection` span in the trace."""
    session_taint(session_id=task.session_id, source=tool_name, suspicious=found.flagged)
    if not found.flagged:
        return
    detection = detection_record(
        task=task,
        agent_name=task.session.agent.name,
        source=tool_name,
        step_index=step_index if step_index is not None else external_index_next(task),
        call_index=0,
        found=found,
        action=InjectionAction.FLAG,
    )
    spans = SpanBuffer(trace_pk=task.trace.pk, parent_span_id="")
    guardrail_span_add(
        spans,
        session_id=task.session_id,
        step_index=detection.step_index,
        tool=tool_name,
        found=found,
        action=InjectionAction.FLAG,
    )
    spans.flush()


def reported_span_attributes(found: ScanResult | None) -> dict[str, Any]:
    """The tool span's injection attributes, as the runtime's tool spans get them."""
    if found is None:
        return {}
    if not found.flagged:
        return {"tollgate.tool.trust": Trust.UNTRUSTED.value, "tollgate.injection.score": found.score}
    return {
        "tollgate.tool.trust": Trust.UNTRUSTED.value,
        **detection_span_attributes(found, action=InjectionAction.FLAG.value),
    }

"""Tool outputs of agents that run elsewhere: results reported through the gate API and the
outputs of `execute_tool` spans sent to the OTLP receiver.

They are read as the runtime's tool results are (injection/inspector.py): an untrusted tool's
output is scanned, taints the session, and is recorded when a detector fires, so the session's
later gate calls meet the taint rules. Tollgate never hands these outputs to a model, so nothing
is spotlighted, quarantined or withheld: a detection's action is `flag`.

Scanning and tainting are two steps: callers scan before their transaction (no row stays locked
while the detectors and an external classifier run) and taint inside it, with the write that
records the output, so an output is never stored without its taint.

An output is scanned once per session: its verdict is kept by the SHA-256 of its text and of
the external classifier that judged it (ScannedOutput), and the same text met again in that
session (a call both reported through the gate API and exported over OTLP, a span in two
exports, one output in many spans) reuses it, while the same classifier (or none) is configured.
Tainting again is harmless; asking the external classifier again is a call. Two requests that
meet one new output at the same moment may both scan it; the first verdict written is kept.
"""

import hashlib
import time
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

from django.conf import settings

from agents.models import Task
from agents.models.tool import InjectionAction, Trust
from agents.services.external import external_index_next
from agents.tools.result import ToolResult
from core import clock
from injection.detect import Finding, ScanResult, scan
from injection.detect.external import ExternalClassifier, NotAsked, TextClassifier
from injection.external import external_classifier
from injection.inspector import MAX_SCAN_CHARS, detection_span_attributes, guardrail_span_add
from injection.models import ScannedOutput
from injection.records import detection_record
from injection.spotlight import result_text
from injection.taint import session_taint
from tracing.recorder import SpanBuffer

# The span attribute of an output the external classifier was not asked about (over the budget).
CLASSIFIER_SKIPPED_ATTRIBUTE = "tollgate.injection.external_skipped"
OVER_BUDGET = "not sent to the external classifier: past the outputs one export may send it"
PAST_DEADLINE = "not sent to the external classifier: past the time one export may wait for it"


@dataclass
class ClassifierBudget:
    """How many more new outputs one request may send to the external classifier, and until when
    (time.monotonic()) it may wait for its answers."""

    left: int
    deadline: float

    @classmethod
    def per_export(cls) -> "ClassifierBudget":
        """One OTLP export's: INJECTION_CLASSIFIER_MAX_PER_EXPORT outputs, and
        INJECTION_CLASSIFIER_EXPORT_DEADLINE_S from now, so that a stalled classifier cannot
        hold an export past its exporter's own timeout (which would send it again)."""
        deadline = time.monotonic() + settings.INJECTION_CLASSIFIER_EXPORT_DEADLINE_S
        return cls(left=settings.INJECTION_CLASSIFIER_MAX_PER_EXPORT, deadline=deadline)

    def take(self) -> float | None:
        """The seconds the next call may wait for its answer; None when it is not to be made
        (the outputs are spent or the deadline passed: `refusal` says which)."""
        remaining = self.deadline - time.monotonic()
        if self.left <= 0 or remaining <= 0:
            return None
        self.left -= 1
        return remaining

    def refusal(self) -> str:
        return OVER_BUDGET if self.left <= 0 else PAST_DEADLINE


@dataclass(frozen=True)
class ReportedScan:
    found: ScanResult
    # The external classifier is configured but was not asked: the request's budget was spent.
    classifier_skipped: bool = False


@dataclass(frozen=True)
class ReportedOutput:
    tool_name: str
    trust: str  # agents.services.external.external_tools_trust
    output: Any


def reported_output_scan(*, session_id: UUID, tool_name: str, trust: str, output: Any) -> ScanResult | None:
    """The scan of what `tool_name` returned in the session; None when the tool is trusted (its
    output is not scanned and taints nothing, as for the runtime's trusted tools)."""
    [scanned] = reported_outputs_scan(
        session_id=session_id, outputs=[ReportedOutput(tool_name, trust, output)], budget=None
    )
    return scanned.found if scanned is not None else None


def reported_outputs_scan(
    *, session_id: UUID, outputs: list[ReportedOutput], budget: ClassifierBudget | None
) -> list[ReportedScan | None]:
    """The scan of each output, in order (None for a trusted tool's). An output the session met
    before reuses its verdict; a new one is scanned, the external classifier asked while
    `budget` (None: no limit) lasts, each call cut short at its deadline, and only then scanned by
    the built-in detectors alone."""
    texts: list[str | None] = [
        None
        if item.trust == Trust.TRUSTED
        else result_text(ToolResult(status="success", data=item.output), limit=MAX_SCAN_CHARS)
        for item in outputs
    ]
    external = external_classifier()
    digests = [_digest(text, external) if text is not None else "" for text in texts]
    known: dict[str, ReportedScan] = {
        row.digest: ReportedScan(_scan_result(row))
        for row in ScannedOutput.objects.filter(session_id=session_id, digest__in={d for d in digests if d})
    }
    fresh: list[ScannedOutput] = []
    scans: list[ReportedScan | None] = []
    for item, text, digest in zip(outputs, texts, digests, strict=True):
        if text is None:
            scans.append(None)
            continue
        if digest not in known:
            classifier: TextClassifier | None = external
            if external is not None and budget is not None:
                wait_s = budget.take()
                classifier = (
                    NotAsked(fail_closed=external.fail_closed, reason=budget.refusal())
                    if wait_s is None
                    else external.within(wait_s)
                )
            found = scan(text, tool=item.tool_name, external=classifier)
            skipped = isinstance(classifier, NotAsked)
            known[digest] = ReportedScan(found, classifier_skipped=skipped)
            # A verdict without the classifier's answer (not asked, or it failed: fail-open would
            # keep it clean, fail-closed flagged, for the whole session) is not kept: a later
            # request may have the answer.
            if external is None or (not skipped and external.answered_last()):
                fresh.append(_scanned_row(session_id, digest, found))
        scans.append(known[digest])
    ScannedOutput.objects.bulk_create(fresh, ignore_conflicts=True)
    return scans


def _digest(text: str, external: ExternalClassifier | None) -> str:
    # The classifier too: a verdict reached without it (none configured yet) or by another one
    # must not stand for the one configured now, which may flag what they let through.
    judge = external.url if external is not None else ""
    return hashlib.sha256(f"{judge}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()


def _scanned_row(session_id: UUID, digest: str, found: ScanResult) -> ScannedOutput:
    return ScannedOutput(
        session_id=session_id,
        digest=digest,
        score=found.score,
        flagged=found.flagged,
        findings=[asdict(finding) for finding in found.findings],
        created_at=clock.now(),
    )


def _scan_result(row: ScannedOutput) -> ScanResult:
    findings = tuple(Finding(**finding) for finding in row.findings)
    return ScanResult(score=row.score, flagged=row.flagged, findings=findings)


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


def reported_span_attributes(found: ScanResult | None, *, classifier_skipped: bool = False) -> dict[str, Any]:
    """The tool span's injection attributes, as the runtime's tool spans get them, and whether
    the external classifier was skipped for it."""
    if found is None:
        return {}
    attributes: dict[str, Any] = {"tollgate.tool.trust": Trust.UNTRUSTED.value}
    if classifier_skipped:
        attributes[CLASSIFIER_SKIPPED_ATTRIBUTE] = True
    if not found.flagged:
        return {**attributes, "tollgate.injection.score": found.score}
    return {**attributes, **detection_span_attributes(found, action=InjectionAction.FLAG.value)}

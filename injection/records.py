"""Recording detections."""

from agents.models import Task
from core import clock
from injection.detect import ScanResult
from injection.models import Detection

MAX_FINDINGS = 20


def detection_record(
    *,
    task: Task,
    agent_name: str,
    source: str,
    step_index: int,
    call_index: int,
    found: ScanResult,
    action: str,
) -> Detection:
    """Record a flagged text once: a redelivered step scanning the same result finds its row."""
    findings = sorted(found.findings, key=lambda finding: -finding.score)
    detection, _ = Detection.objects.get_or_create(
        task=task,
        step_index=step_index,
        call_index=call_index,
        defaults={
            "session_id": task.session_id,
            "source": source,
            "agent_name": agent_name,
            "score": found.score,
            "detectors": found.detectors,
            "findings": [
                {
                    "detector": finding.detector,
                    "score": finding.score,
                    "snippet": finding.snippet[:200],
                    "start": finding.start,
                    "end": finding.end,
                }
                for finding in findings[:MAX_FINDINGS]
            ],
            "snippet": findings[0].snippet[:200] if findings else "",
            "action": action,
            "created_at": clock.now(),
        },
    )
    return detection

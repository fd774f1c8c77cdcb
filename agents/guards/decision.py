"""What a guardrail says about the next model or tool call."""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    ALLOW = "allow"
    DOWNGRADE = "downgrade"  # switch this call to the agent's cheaper model
    PARK = "park"  # wait (for a person, or for a dependency to come back) without holding a worker
    HALT = "halt"  # stop the task with a partial result


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    guard: str = ""  # the guard that decided; a halting guard's name becomes the task's stop_reason
    reason: str = ""  # for people: shown in the trace and the task's stop_detail
    detail: dict[str, Any] = field(default_factory=dict)  # recorded on the guardrail span


ALLOW = Decision(Verdict.ALLOW)

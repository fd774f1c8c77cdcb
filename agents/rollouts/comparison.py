"""The live comparison of a rollout's two arms, computed by PostgreSQL in two aggregate queries.

A task counts once it has an outcome its version is responsible for: succeeded, or failed or
halted (a failure). Cancelled tasks and tasks still running or waiting count in `tasks` only.
Latency is a task's time from submission to its end, waits for people included (the REST
API's duration_s). Approvals asked and rejections are counted by the app that owns approvals
through `approval_counter_register` (the runtime does not import it).
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import Extract

from agents.models import Rollout, Task
from core.aggregates import PercentileCont

FINISHED = (Task.Status.SUCCEEDED, Task.Status.FAILED, Task.Status.HALTED)
FAILED = (Task.Status.FAILED, Task.Status.HALTED)


@dataclass(frozen=True)
class ApprovalCounts:
    asked: int = 0
    rejected: int = 0


class ApprovalCounter(Protocol):
    def __call__(self, *, tasks: QuerySet[Task], group_by: str) -> dict[str, ApprovalCounts]:
        """Per value of the Task field path `group_by`: the approvals asked by `tasks`, and how
        many of them people turned down (rejected, expired, or cancelled by a reviewer)."""
        ...


_approval_counter: ApprovalCounter | None = None


def approval_counter_register(counter: ApprovalCounter) -> None:
    global _approval_counter
    _approval_counter = counter


@dataclass(frozen=True)
class ArmNumbers:
    arm: str
    version: int
    sessions: int = 0
    tasks: int = 0
    finished: int = 0
    succeeded: int = 0
    failed: int = 0
    cost_usd: Decimal = Decimal("0")
    approvals_asked: int = 0
    rejections: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.finished if self.finished else None

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.finished if self.finished else None

    @property
    def cost_per_task(self) -> Decimal | None:
        """USD per finished task, exact (the columns keep 12 places)."""
        return self.cost_usd / self.finished if self.finished else None


@dataclass(frozen=True)
class Comparison:
    baseline: ArmNumbers
    canary: ArmNumbers


ARM_FIELD = "session__rollout_arm"


def rollout_compare(rollout: Rollout) -> Comparison:
    """Both arms' numbers; an arm without sessions yet has zeros and no rates."""
    tasks = Task.objects.filter(session__rollout=rollout)
    finished = Q(status__in=FINISHED)
    latency_ms = (
        Extract(ExpressionWrapper(F("finished_at") - F("created_at"), output_field=DurationField()), "epoch")
        * 1000
    )
    rows = (
        tasks.values(ARM_FIELD)
        .annotate(
            sessions=Count("session", distinct=True),
            tasks=Count("id"),
            finished=Count("id", filter=finished),
            succeeded=Count("id", filter=Q(status=Task.Status.SUCCEEDED)),
            failed=Count("id", filter=Q(status__in=FAILED)),
            cost_usd=Sum("cost_usd", filter=finished, default=Decimal("0")),
            latency_p50_ms=PercentileCont(latency_ms, 0.5, filter=finished),
            latency_p95_ms=PercentileCont(latency_ms, 0.95, filter=finished),
        )
        .order_by()
    )
    by_arm = {row.pop(ARM_FIELD): row for row in rows}
    approvals = _approval_counter(tasks=tasks, group_by=ARM_FIELD) if _approval_counter else {}
    versions = {Rollout.Arm.BASELINE: rollout.baseline, Rollout.Arm.CANARY: rollout.canary}
    arms = {}
    for arm, version in versions.items():
        counts = approvals.get(arm, ApprovalCounts())
        arms[arm] = ArmNumbers(
            arm=arm,
            version=version.number,
            approvals_asked=counts.asked,
            rejections=counts.rejected,
            **by_arm.get(arm, {}),
        )
    return Comparison(baseline=arms[Rollout.Arm.BASELINE], canary=arms[Rollout.Arm.CANARY])

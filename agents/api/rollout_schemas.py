"""Bodies and answers of the rollout API (agents/api/rollouts.py); money travels as decimal strings."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field, StringConstraints

from agents.api.schemas import NEXT_DOC, PG_INT_MAX, Input, omitted
from agents.models.rollout import MAX_MIN_TASKS, MAX_MULTIPLE, MAX_PERCENT, MIN_MULTIPLE, MIN_PERCENT
from agents.rollouts.services import MAX_REASON_CHARS
from core.pagination import PageQuery

RolloutStatus = Literal["active", "promoted", "rolled_back"]


def multiple(description: str) -> object:
    return omitted(
        ge=MIN_MULTIPLE,
        le=MAX_MULTIPLE,
        max_digits=6,
        decimal_places=2,
        allow_inf_nan=False,
        description=description,
    )


class RolloutIn(Input):
    canary_version: int = Field(
        ge=1, le=PG_INT_MAX, description="the version to try; the current version is the baseline"
    )
    percent: int = Field(ge=MIN_PERCENT, le=MAX_PERCENT, description="the share of new sessions that run it")
    failure_rate_multiple: Decimal = multiple(  # type: ignore[assignment]
        "roll back when the canary's failure rate passes this many times the baseline's (default 2.0)"
    )
    cost_multiple: Decimal = multiple(  # type: ignore[assignment]
        "roll back when the canary's cost per task passes this many times the baseline's (default 1.5)"
    )
    min_tasks: int = omitted(
        ge=1, le=MAX_MIN_TASKS, description="finished canary tasks before the judge decides (default 20)"
    )


class RolloutEndIn(Input):
    reason: Annotated[str, StringConstraints(max_length=MAX_REASON_CHARS)] = Field(
        default="", description="why, kept on the rollout and in the audit log"
    )


class RolloutOut(Schema):
    id: int
    agent: str
    status: RolloutStatus
    baseline_version: int = Field(description="the version that was current when it started")
    canary_version: int
    percent: int
    failure_rate_multiple: str
    cost_multiple: str
    min_tasks: int
    created_by: str | None
    created_at: datetime
    ended_at: datetime | None
    ended_by: str | None = Field(
        description="who promoted or rolled it back; null for the automatic roll back"
    )
    ended_reason: str


class ArmOut(Schema):
    arm: Literal["baseline", "canary"]
    version: int
    sessions: int
    tasks: int = Field(description="every task of its sessions, running ones included")
    finished: int = Field(description="tasks that succeeded, failed or halted")
    succeeded: int
    failed: int = Field(description="failed or halted")
    success_rate: float | None = Field(description="succeeded / finished; null before the first")
    failure_rate: float | None
    cost_usd: str = Field(description="of the finished tasks, USD")
    cost_per_task_usd: str | None = Field(description="USD per finished task")
    approvals_asked: int
    rejections: int = Field(description="requests rejected, expired, or cancelled by a reviewer")
    latency_p50_ms: float | None = Field(description="submission to end, waits for people included")
    latency_p95_ms: float | None


class ComparisonOut(Schema):
    baseline: ArmOut
    canary: ArmOut


class RolloutDetailOut(RolloutOut):
    comparison: ComparisonOut
    judgment: str | None = Field(
        description="while active: why the next automatic check rolls it back; null while the canary "
        "is within its thresholds or has too few finished tasks"
    )


class RolloutFilter(PageQuery):
    status: RolloutStatus | None = None


class RolloutPage(Schema):
    items: list[RolloutOut]
    next: str | None = Field(description=NEXT_DOC)

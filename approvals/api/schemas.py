import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, StringConstraints

from agents.api.schemas import NEXT_DOC, PG_INT_MAX, ErrorDetail
from approvals.policy.services import RULE_BOUNDS
from approvals.services import MAX_COMMENT_CHARS
from core.pagination import PageQuery

Tier = Literal["low", "medium", "high", "critical"]
Text200 = Annotated[str, StringConstraints(max_length=200)]


def _bounds(name: str) -> Any:
    least, most = RULE_BOUNDS[name]
    return Field(ge=least, le=most)


class RuleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    tool: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    agent: Annotated[str, StringConstraints(max_length=100)] = ""
    condition: Annotated[str, StringConstraints(max_length=4000)] = ""
    tier: Tier
    delay_s: Annotated[int, _bounds("delay_s")] = 300
    approvals_required: Annotated[int, _bounds("approvals_required")] = 1
    reviewer_group: Annotated[str, StringConstraints(min_length=1, max_length=150)] = "reviewers"
    expiry_s: Annotated[int, _bounds("expiry_s")] | None = None
    sla_s: Annotated[int, _bounds("sla_s")] | None = None
    priority: Annotated[int, _bounds("priority")] = 0
    raise_only: bool = Field(
        default=False,
        description="matched after the other rules; sees their tier as `tier` and only raises it",
    )


class RulePatch(Schema):
    model_config = ConfigDict(extra="forbid")

    tool: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    agent: Annotated[str, StringConstraints(max_length=100)] | None = None
    condition: Annotated[str, StringConstraints(max_length=4000)] | None = None
    tier: Tier | None = None
    delay_s: Annotated[int, _bounds("delay_s")] | None = None
    approvals_required: Annotated[int, _bounds("approvals_required")] | None = None
    reviewer_group: Annotated[str, StringConstraints(min_length=1, max_length=150)] | None = None
    expiry_s: Annotated[int, _bounds("expiry_s")] | None = None
    sla_s: Annotated[int, _bounds("sla_s")] | None = None
    priority: Annotated[int, _bounds("priority")] | None = None
    raise_only: bool | None = None


class RuleOut(Schema):
    id: int
    tool: str
    agent: str
    condition: str
    tier: str
    delay_s: int
    approvals_required: int
    reviewer_group: str
    expiry_s: int | None
    sla_s: int | None
    priority: int
    raise_only: bool
    policy_version: int


class DecisionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    # "done": a critical request a person carried out outside Tollgate (a note in `comment`).
    decision: Literal["approve", "reject", "cancel", "done"]
    comment: Annotated[str, StringConstraints(max_length=MAX_COMMENT_CHARS)] = ""
    arguments: dict[str, Any] | None = None
    # Omitted means 1: a client that knows nothing of versions can only have meant the original.
    version: int = Field(
        default=1,
        ge=1,
        le=PG_INT_MAX,
        strict=True,
        description="the version of the arguments the reviewer saw; any but the current one gets 409",
    )


class OutcomeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    done: bool = Field(strict=True, description="whether the call took effect, as the person checked")
    result: Any = Field(default=None, description="done: what the tool did (the model is told it)")
    note: Annotated[str, StringConstraints(max_length=MAX_COMMENT_CHARS)] = ""


class CurrentVersion(Schema):
    version: int
    arguments: dict[str, Any]
    hash: str


class StaleVersionDetail(ErrorDetail):
    current: CurrentVersion | None = None


class StaleVersionOut(Schema):
    """409: the request is decided already, or (code stale_version) it changed since the reviewer saw it."""

    error: StaleVersionDetail


class DetectionOut(Schema):
    source: str = Field(description="the tool whose result was flagged, or `input`")
    detectors: list[str]
    score: float
    snippet: str = Field(description="the flagged text, as data: never render it as markup")
    action: Literal["flag", "quarantine", "block"]
    created_at: datetime


class TaintOut(Schema):
    tainted: bool
    suspicious: bool
    taint_sources: list[str]
    unseen_addresses: list[str]
    detections: list[DetectionOut]


class ActionRequestOut(Schema):
    id: uuid.UUID
    task: uuid.UUID
    step_index: int = Field(description="the task's step whose model reply asked for the call")
    call_index: int = Field(description="the call's place among that step's tool calls")
    tool: str
    agent: str
    arguments: dict[str, Any]
    original_arguments: dict[str, Any]
    reasoning: str
    version: int
    tier: str
    status: str
    rule: int | None
    policy_errors: list[str]
    policy_version: int
    taint: TaintOut | None = Field(description="why the session is suspect, when it is tainted")
    hash: str
    approvals_required: int
    approvals: int
    reviewer_group: str
    autosend_at: datetime | None
    expires_at: datetime | None
    escalated: bool
    decided_by: str | None
    decision_comment: str
    result: dict[str, Any] | None
    sent_request: dict[str, Any] | None = Field(
        description="outcome_unknown: the request that was sent and whose answer was lost"
    )
    outcome_by: str | None
    outcome_note: str
    created_at: datetime
    decided_at: datetime | None
    execution_started_at: datetime | None
    executed_at: datetime | None = Field(description="when the tool call finished (executed or failed)")


RequestStatus = Literal[
    "pending",
    "approved",
    "rejected",
    "cancelled",
    "expired",
    "executing",
    "executed",
    "failed",
    "outcome_unknown",
    "not_done",
    "done",
]


class ActionRequestFilter(PageQuery):
    status: RequestStatus | None = None
    task: uuid.UUID | None = None
    agent: Annotated[str, StringConstraints(max_length=100)] | None = None
    tool: Annotated[str, StringConstraints(max_length=64)] | None = None
    tier: Tier | None = None


class ActionRequestList(Schema):
    items: list[ActionRequestOut]
    next: str | None = Field(description=NEXT_DOC)


class ToolTierIn(Schema):
    model_config = ConfigDict(extra="forbid")

    risk_tier: Tier


class ToolTierOut(Schema):
    tool: str
    risk_tier: str
    policy_version: int

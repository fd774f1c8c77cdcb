import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, StringConstraints

from agents.api.schemas import PG_INT_MAX, ErrorDetail
from approvals.policy.services import RULE_BOUNDS

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
    policy_version: int


class DecisionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    # "done": a critical request a person carried out outside Tollgate (a note in `comment`).
    decision: Literal["approve", "reject", "cancel", "done"]
    comment: Annotated[str, StringConstraints(max_length=4000)] = ""
    arguments: dict[str, Any] | None = None
    # Omitted means 1: a client that knows nothing of versions can only have meant the original.
    version: int = Field(
        default=1,
        ge=1,
        le=PG_INT_MAX,
        strict=True,
        description="the version of the arguments the reviewer saw; any but the current one gets 409",
    )


class CurrentVersion(Schema):
    version: int
    arguments: dict[str, Any]
    hash: str


class StaleVersionDetail(ErrorDetail):
    current: CurrentVersion | None = None


class StaleVersionOut(Schema):
    """409: the request is decided already, or (code stale_version) it changed since the reviewer saw it."""

    error: StaleVersionDetail


class ActionRequestOut(Schema):
    id: uuid.UUID
    task: uuid.UUID
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
    created_at: datetime


class ActionRequestList(Schema):
    items: list[ActionRequestOut]

"""REST bodies of replays."""

import uuid
from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from agents.api.schemas import PG_INT_MAX, Input, omitted


class ReplayIn(Input):
    agent_version: int = omitted(
        ge=1, le=PG_INT_MAX, description="a version number of the task's agent; default: the task's own"
    )
    policy_version: int = omitted(
        ge=0, le=PG_INT_MAX, description="a saved policy version; default: the policy in force"
    )
    live_model: bool = Field(default=False, description="ask the model again instead of its recorded replies")


class ReplayDifference(Schema):
    step: int | None = Field(description="null: the task as a whole")
    call: int | None = Field(description="null: the step as a whole")
    field: str
    original: Any
    replay: Any


class ReplayTaskSide(Schema):
    status: str
    stop_reason: str
    result: str


class ReplayTaskDiff(Schema):
    original: ReplayTaskSide
    replay: ReplayTaskSide


class ReplayCall(Schema):
    tool: str
    arguments: Any
    tier: str | None
    decision: str | None = Field(description="the policy's: allow, autosend, approval or deny")
    rule: int | None
    policy_version: int | None
    status: str = Field(description="the tool span's status: success, error or declined")
    declined: str = Field(description="why the call did not run, if so: rejected, person_must_act, ...")


class ReplayCallDiff(Schema):
    index: int
    original: ReplayCall | None
    replay: ReplayCall | None


class ReplayGuard(Schema):
    guard: str
    verdict: str


class ReplayGuardsDiff(Schema):
    original: list[ReplayGuard]
    replay: list[ReplayGuard]


class ReplayStepDiff(Schema):
    index: int
    changed: bool
    guards: ReplayGuardsDiff
    calls: list[ReplayCallDiff]


class ReplayOut(Schema):
    id: uuid.UUID
    original: uuid.UUID
    task: uuid.UUID
    status: str = Field(description="the replay task's status")
    agent: str
    agent_version: int
    policy_version: int | None
    live_model: bool
    created_at: datetime
    finished: bool
    identical: bool = Field(description="finished, and nothing differs from the original")
    differences: list[ReplayDifference]
    outcome: ReplayTaskDiff
    steps: list[ReplayStepDiff]


class ReplayAccepted(Schema):
    id: uuid.UUID
    original: uuid.UUID
    task: uuid.UUID
    status: str

"""Request and response bodies of /api/v1/evals, bounded at the boundary (evals/limits.py);
the services check the rest (check specs, fixtures' shape)."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field, StringConstraints

from agents.api.schemas import NEXT_DOC, PG_INT_MAX, AgentName, Input, omitted
from core.pagination import PageQuery
from evals.limits import (
    MAX_CHECKS_PER_CASE,
    MAX_DESCRIPTION_CHARS,
    MAX_FIXTURES_PER_CASE,
    MAX_INPUT_CHARS,
    MAX_LIVE_TOOLS,
    MAX_NAME_CHARS,
)

Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS)]
Description = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION_CHARS)]
CaseInput = Annotated[str, StringConstraints(min_length=1, max_length=MAX_INPUT_CHARS)]
ToolName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Fixtures = Annotated[list[dict[str, Any]], Field(max_length=MAX_FIXTURES_PER_CASE)]
LiveTools = Annotated[list[ToolName], Field(max_length=MAX_LIVE_TOOLS)]
Checks = Annotated[list[dict[str, Any]], Field(max_length=MAX_CHECKS_PER_CASE)]
RunStatus = Literal["running", "passed", "failed", "error"]


class SuiteIn(Input):
    agent: AgentName
    name: Name
    description: Description = ""
    required: bool = Field(
        default=False, description="a new version of the agent is a candidate until it passes"
    )


class SuitePatch(Input):
    name: Name = omitted()
    description: Description = omitted()
    required: bool = omitted()


class SuiteOut(Schema):
    id: int
    agent: str
    name: str
    description: str
    required: bool
    cases: int
    created_at: datetime
    updated_at: datetime


class SuiteFilter(PageQuery):
    agent: AgentName | None = None


class SuitePage(Schema):
    items: list[SuiteOut]
    next: str | None = Field(description=NEXT_DOC)


class CaseIn(Input):
    name: Name
    input: CaseInput
    fixtures: Fixtures = Field(default_factory=list, description="recorded tool results (docs/evals.md)")
    live_tools: LiveTools = Field(default_factory=list, description="tools that run for real in this case")
    checks: Checks = Field(default_factory=list, description="check specs (docs/evals.md)")


class CasePatch(Input):
    name: Name = omitted()
    input: CaseInput = omitted()
    fixtures: Fixtures = omitted()
    live_tools: LiveTools = omitted()
    checks: Checks = omitted()


class CaseFromTaskIn(Input):
    task: uuid.UUID
    name: Name = omitted(description="default: 'from task <id>'")


class CaseOut(Schema):
    id: int
    suite: int
    name: str
    input: str
    fixtures: list[dict[str, Any]]
    live_tools: list[str]
    checks: list[dict[str, Any]]
    source_task: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class CasePage(Schema):
    items: list[CaseOut]
    next: str | None = Field(description=NEXT_DOC)


class RunIn(Input):
    version: int = omitted(
        ge=1, le=PG_INT_MAX, description="the agent version to run; default: the current one"
    )


class RunOut(Schema):
    id: uuid.UUID
    suite: int
    agent: str
    version: int
    status: RunStatus
    gates_version: bool = Field(description="its outcome decides a candidate version")
    cases_total: int
    cases_passed: int
    cases_failed: int
    cases_errored: int
    input_tokens: int
    output_tokens: int
    cost_usd: str
    created_at: datetime
    finished_at: datetime | None


class RunFilter(PageQuery):
    suite: int | None = Field(default=None, ge=1, le=PG_INT_MAX)
    status: RunStatus | None = None


class RunPage(Schema):
    items: list[RunOut]
    next: str | None = Field(description=NEXT_DOC)


class CheckResultOut(Schema):
    check: int
    kind: str
    name: str
    passed: bool
    error: bool
    detail: str


class CaseResultOut(Schema):
    case: int | None
    case_name: str
    task: uuid.UUID | None
    status: Literal["pending", "passed", "failed", "error"]
    before: str | None = Field(description="the predecessor run's status of this case; null if it had none")
    change: Literal["regression", "failing", "pending", "fixed", "passing"]
    checks: list[CheckResultOut]
    input_tokens: int
    output_tokens: int
    cost_usd: str
    judge_cost_usd: str
    latency_ms: float


class PredecessorOut(Schema):
    id: uuid.UUID
    version: int
    status: RunStatus


class RunDetailOut(RunOut):
    predecessor: PredecessorOut | None = Field(
        description="the same suite's last ended run on the nearest older version"
    )
    changes: dict[str, int] = Field(
        description="cases per change: regression, failing, pending, fixed, passing"
    )
    results: list[CaseResultOut] = Field(description="regressions first")

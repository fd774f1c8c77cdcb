"""Bodies and answers of the gate API (approvals/api/actions.py)."""

from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from approvals.external.report import MAX_DURATION_MS
from approvals.external.submit import MAX_REASONING_CHARS
from approvals.external.waiting import MAX_WAIT_S


# The ask's body and answer are plain pydantic models, not Ninja Schemas: a Schema validates a
# body that forbids extra fields twice (once as sent, once through Ninja's attribute getter) and
# reads each field of an answer through that getter, ~4% of the gate's allow answer's CPU
# (bench/README.md, gate_cpu). Both validate dicts only, so the getter has nothing to do.
class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    session: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="the caller's own id of the conversation; actions of one session share a trace"
    )
    tool: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    arguments: dict[str, Any] = Field(default_factory=dict)
    reasoning: Annotated[str, StringConstraints(max_length=MAX_REASONING_CHARS)] = ""
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="the same key with the same call returns the same action"
    )
    context: dict[str, Any] | None = None
    callback_url: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        default=None, description="receives the decision, signed X-Tollgate-Signature: sha256=…"
    )


class ActionOut(BaseModel):
    id: str
    agent: str
    session: str
    tool: str
    tier: str
    decision: Literal["allow", "pending", "deny"]
    status: str
    reason: str
    arguments: dict[str, Any]
    edited: bool
    action_request: str | None
    autosend_at: str | None
    expires_at: str | None
    decided_at: str | None
    execution_token: str | None = Field(description="present while an allowed action awaits its report")
    tool_idempotency_key: str | None = Field(description="send it to the tool: the same on every retry")
    result_reported: bool
    outcome: Literal["success", "error"] | None
    result: Any = Field(description="what the caller reported, once it has")
    created_at: str


class WaitQuery(Schema):
    wait: float = Field(default=0, ge=0, le=MAX_WAIT_S, description="seconds to wait while pending")


class ResultIn(Schema):
    model_config = ConfigDict(extra="forbid")

    execution_token: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    status: Literal["success", "error"]
    result: Any = None
    duration_ms: float | None = Field(default=None, ge=0, le=MAX_DURATION_MS)

"""Bodies of the undo routes: a session's executed actions and the undo of one or all of them."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, StringConstraints

# "<task id>:<step index>:<call index>"
ActionId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f-]{36}:\d{1,9}:\d{1,9}$")]
ActionState = Literal["executed", "undoing", "undone", "undo_failed", "compensation"]


class UndoOut(Schema):
    status: Literal["pending", "undone", "failed"]
    undo_task: uuid.UUID
    compensation: str
    arguments: dict[str, Any]
    error: str = Field(description="why the compensation did not succeed (failed)")
    requested_by: str | None
    created_at: datetime
    settled_at: datetime | None


class ExecutedActionOut(Schema):
    id: ActionId
    task: uuid.UUID
    step_index: int
    call_index: int
    tool: str
    arguments: dict[str, Any] = Field(description="the final arguments (a reviewer's edit included)")
    result: dict[str, Any]
    executed_at: datetime | None
    action_request: uuid.UUID | None
    state: ActionState
    reversible: bool
    compensation: str | None
    irreversible_reason: str
    compensates: ActionId | None = Field(description="for a call of an undo task: the action it undoes")
    undo: UndoOut | None


class SessionActionsOut(Schema):
    items: list[ExecutedActionOut]
    irreversible: int = Field(description="how many executed actions cannot be undone")
    truncated: bool = Field(description="the session has more steps than one listing reads")


class UndoIn(Schema):
    model_config = ConfigDict(extra="forbid")

    action: ActionId | None = Field(
        default=None, description="one action's id; omitted or null: every reversible action not undone yet"
    )


class UndoStartedOut(Schema):
    task: uuid.UUID = Field(description="the undo task, in the same session")
    status: str
    actions: list[ActionId] = Field(description="the actions it undoes, in the order it undoes them")

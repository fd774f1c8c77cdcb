"""Bodies and answers of the budget API (agents/api/budget.py); money travels as decimal strings."""

from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, StringConstraints

from agents.api.schemas import AgentName
from agents.guards.external_spend import MAX_AMOUNT_USD

Money = Annotated[
    Decimal, Field(ge=0, le=MAX_AMOUNT_USD, max_digits=24, decimal_places=12, allow_inf_nan=False)
]


class ReserveIn(Schema):
    model_config = ConfigDict(extra="forbid")

    agent: AgentName
    session: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    amount_usd: Money = Field(description='the most the call may cost, e.g. "0.25"')
    model: Annotated[str, StringConstraints(max_length=200)] = ""
    user: Annotated[str, StringConstraints(max_length=200)] = Field(
        default="",
        description=(
            "an end user of the token's account, whose daily budget it counts in (the one internal"
            " tasks submitted with this user count in; default: the account's own)"
        ),
    )


class BudgetOut(Schema):
    decision: Literal["reserved", "refused", "wait"]
    reservation: str | None
    scope: str | None
    ceiling_usd: Decimal | None
    spent_usd: Decimal | None
    reserved_usd: Decimal | None


class SettleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reservation: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    cost_usd: Money


class SettleOut(Schema):
    reservation: str
    settled: bool

"""POST /budget/reserve and /budget/settle: the cost breaker for agents that run elsewhere."""

from typing import Any

from django.http import HttpRequest
from ninja import Router

from agents.api import request_user
from agents.api.budget_schemas import BudgetOut, ReserveIn, SettleIn, SettleOut
from agents.api.schemas import WRITE_ERRORS, ErrorOut
from agents.guards.external_spend import budget_reserve, budget_settle

router = Router(tags=["budget"])


@router.post(
    "/reserve",
    response={200: BudgetOut, WRITE_ERRORS | {503}: ErrorOut},
    summary="Hold an amount before spending it: reserved, refused (no room) or wait (ask again)",
)
def reserve(request: HttpRequest, payload: ReserveIn) -> dict[str, Any]:
    answer = budget_reserve(
        owner=request_user(request),
        agent=payload.agent,
        session=payload.session,
        amount_usd=payload.amount_usd,
        model=payload.model,
        user=payload.user,
    )
    return vars(answer)


@router.post(
    "/settle",
    response={200: SettleOut, WRITE_ERRORS | {503}: ErrorOut},
    summary="Report what a reservation's call really cost, at most its amount (a second settle counts once)",
)
def settle(request: HttpRequest, payload: SettleIn) -> dict[str, Any]:
    budget_settle(owner=request_user(request), reservation_id=payload.reservation, cost_usd=payload.cost_usd)
    return {"reservation": payload.reservation, "settled": True}

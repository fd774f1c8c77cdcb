"""Tollgate's client for agents that run elsewhere: ask before acting, wait, report, budget."""

from tollgate_client.aio import AsyncTollgate
from tollgate_client.client import Spend, Tollgate
from tollgate_client.scope import current_action, in_session
from tollgate_client.types import (
    ActionDenied,
    BudgetRefused,
    Decision,
    GateTimeout,
    Reservation,
    TollgateError,
)

__all__ = [
    "ActionDenied",
    "AsyncTollgate",
    "BudgetRefused",
    "Decision",
    "GateTimeout",
    "Reservation",
    "Spend",
    "Tollgate",
    "TollgateError",
    "current_action",
    "in_session",
]

"""What the gate and the budget API answer, as typed values."""

from dataclasses import dataclass
from typing import Any, Literal

DecisionKind = Literal["allow", "pending", "deny"]


@dataclass(frozen=True)
class Decision:
    """The gate's answer about one action. Run the tool only when `allowed`, with `arguments`
    (a reviewer may have edited them), and send it `tool_idempotency_key`."""

    id: str
    decision: DecisionKind
    status: str
    tier: str
    reason: str
    arguments: dict[str, Any]
    edited: bool
    execution_token: str | None
    tool_idempotency_key: str | None
    result_reported: bool
    outcome: str | None
    result: Any
    autosend_at: str | None
    expires_at: str | None

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

    @property
    def pending(self) -> bool:
        return self.decision == "pending"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Decision":
        return cls(
            id=data["id"],
            decision=data["decision"],
            status=data["status"],
            tier=data["tier"],
            reason=data.get("reason", ""),
            arguments=data.get("arguments") or {},
            edited=bool(data.get("edited")),
            execution_token=data.get("execution_token"),
            tool_idempotency_key=data.get("tool_idempotency_key"),
            result_reported=bool(data.get("result_reported")),
            outcome=data.get("outcome"),
            result=data.get("result"),
            autosend_at=data.get("autosend_at"),
            expires_at=data.get("expires_at"),
        )


@dataclass(frozen=True)
class Reservation:
    """A budget reservation: `reserved` holds the room; settle it with what was spent."""

    decision: Literal["reserved", "refused", "wait"]
    id: str | None
    scope: str | None = None
    ceiling_usd: str | None = None
    spent_usd: str | None = None

    @property
    def reserved(self) -> bool:
        return self.decision == "reserved"


class TollgateError(Exception):
    """Tollgate answered with an error (4xx/5xx): `status`, `code` and `message` say which."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class ActionDenied(Exception):
    """The action must not run: rejected, expired, cancelled or critical. `reason` says why."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.reason)
        self.decision = decision
        self.reason = decision.reason


class GateTimeout(Exception):
    """No decision within the caller's timeout; the action is still pending (ask again later)."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(f"action {decision.id} still pending")
        self.decision = decision


class BudgetRefused(Exception):
    """The budget has no room for the amount (or other reservations hold it)."""

    def __init__(self, reservation: Reservation) -> None:
        super().__init__(f"budget refused in scope {reservation.scope}: spent {reservation.spent_usd}")
        self.reservation = reservation

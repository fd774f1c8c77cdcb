"""The request bodies and answer parsing shared by the sync and async clients."""

import json
from decimal import Decimal
from typing import Any

import httpx

from tollgate_client.types import Decision, Reservation, TollgateError

MAX_WAIT_S = 60.0


def ask_body(
    *,
    agent: str,
    session: str,
    tool: str,
    arguments: dict[str, Any],
    reasoning: str,
    idempotency_key: str | None,
    context: dict[str, Any] | None,
    callback_url: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"agent": agent, "session": session, "tool": tool, "arguments": arguments}
    if reasoning:
        body["reasoning"] = reasoning
    if idempotency_key is not None:
        body["idempotency_key"] = idempotency_key
    if context:
        body["context"] = context
    if callback_url:
        body["callback_url"] = callback_url
    return body


def result_body(decision: Decision, *, ok: bool, result: Any, duration_ms: float | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "execution_token": decision.execution_token,
        "status": "success" if ok else "error",
        "result": jsonable(result),
    }
    if duration_ms is not None:
        body["duration_ms"] = duration_ms
    return body


def reserve_body(
    *, agent: str, session: str, amount_usd: Decimal | str, model: str, user: str
) -> dict[str, Any]:
    return {"agent": agent, "session": session, "amount_usd": str(amount_usd), "model": model, "user": user}


def decision_of(response: httpx.Response) -> Decision:
    return Decision.from_json(checked(response))


def reservation_of(response: httpx.Response) -> Reservation:
    data = checked(response)
    return Reservation(
        decision=data["decision"],
        id=data.get("reservation"),
        scope=data.get("scope"),
        ceiling_usd=data.get("ceiling_usd"),
        spent_usd=data.get("spent_usd"),
    )


def checked(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            error = response.json()["error"]
            raise TollgateError(response.status_code, error.get("code", "error"), error.get("message", ""))
        except (ValueError, KeyError, TypeError):
            raise TollgateError(response.status_code, "error", response.text[:500]) from None
    return response.json()


def jsonable(value: Any) -> Any:
    """A tool's return value as JSON (anything else as its text)."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return str(value)


def wait_step(remaining: float) -> float:
    return max(0.0, min(MAX_WAIT_S, remaining))

"""The Python client (clients/python) against a live Tollgate test server: Django's live server
(WSGI) and uvicorn serving the ASGI app, where the ask takes the fast path
(console/gate_fast_path.py)."""

import asyncio
import threading
from decimal import Decimal

import pytest
from tollgate_client import (
    ActionDenied,
    AsyncTollgate,
    BudgetRefused,
    GateTimeout,
    Tollgate,
    TollgateError,
    current_action,
    in_session,
)

from approvals.models import ActionRequest, ExternalAction
from approvals.services import action_request_decide
from console.tokens import api_token_create
from tests.gate.conftest import pending_request
from tests.support.processes import running_web

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("tiers")]


@pytest.fixture(params=["wsgi", "asgi"])
def server_url(request, tmp_path):
    if request.param == "wsgi":
        yield request.getfixturevalue("live_server").url
        return
    with running_web(tmp_path) as url:
        yield url


@pytest.fixture
def tollgate(server_url, requester):
    raw, _ = api_token_create(user=requester, name="client")
    with Tollgate(server_url, raw, agent="outside", session="conv-1") as client:
        yield client


def test_a_guarded_low_call_runs_once_and_is_reported(tollgate):
    calls, keys = [], []

    @tollgate.guarded
    def refund(amount: int, note: str = "") -> dict:
        calls.append(amount)
        keys.append(current_action().tool_idempotency_key)
        return {"refunded": amount}

    assert refund(5) == {"refunded": 5}
    assert calls == [5]
    action = ExternalAction.objects.get()
    assert (action.outcome, action.result) == ("success", {"refunded": 5})
    assert keys == [f"tollgate-xa-{action.id}"]


def test_a_guarded_call_runs_with_the_arguments_a_reviewer_edited(tollgate, reviewer):
    got: list = []

    @tollgate.guarded(tool="refund", timeout=30)
    def refund(amount: int) -> int:
        return amount

    caller = threading.Thread(target=lambda: got.append(refund(500)))
    caller.start()
    action_request_decide(
        action_request=pending_request(), actor=reviewer, decision="approve", arguments={"amount": 250}
    )
    caller.join(timeout=30)
    assert got == [250]
    assert ActionRequest.objects.get().status == "executed"


def test_a_rejected_call_never_runs(tollgate, reviewer):
    @tollgate.guarded(tool="refund", timeout=30, on_deny="return")
    def refund(amount: int) -> int:
        raise AssertionError("must not run")

    got: list = []
    caller = threading.Thread(target=lambda: got.append(refund(500)))
    caller.start()
    action_request_decide(
        action_request=pending_request(), actor=reviewer, decision="reject", comment="no way"
    )
    caller.join(timeout=30)
    assert "no way" in got[0]
    with pytest.raises(ActionDenied, match="critical"):
        tollgate.guarded(tool="wipe")(lambda table: None)(table="users")


def test_a_retry_with_the_same_key_returns_the_first_result_without_running_again(tollgate):
    calls = []

    @tollgate.guarded(key=lambda arguments: "call-7")
    def refund(amount: int) -> int:
        calls.append(amount)
        return amount * 2

    assert refund(5) == 10
    assert refund(5) == 10  # the framework retried the same tool call
    assert calls == [5]


def test_a_pending_call_past_the_timeout_raises_gate_timeout(tollgate):
    with pytest.raises(GateTimeout):
        tollgate.gate("refund", {"amount": 500}, timeout=0.3)


def test_sessions_come_from_the_scope(tollgate):
    with in_session("conv-9"):
        decision = tollgate.gate("refund", {"amount": 1})
    assert decision.allowed
    assert ExternalAction.objects.get().task.session.external_id == "conv-9"
    with pytest.raises(TollgateError) as refused:
        tollgate.ask("refund", {"amount": 1}, session="x" * 300)
    assert refused.value.status == 422


def test_budget_helpers_reserve_and_settle(live_server, requester, settings):
    settings.GUARD_USER_DAY_USD = Decimal("1")  # read by the live server's thread, in this process
    raw, _ = api_token_create(user=requester, name="client")
    with Tollgate(live_server.url, raw, agent="outside", session="conv-1") as tollgate:
        with tollgate.budget("0.4", user="carol") as spend:
            spend.cost_usd = Decimal("0.3")
        with pytest.raises(BudgetRefused), tollgate.budget("0.8", user="carol"):
            pass


def test_the_async_client_gates_and_runs_async_tools(server_url, requester):
    raw, _ = api_token_create(user=requester, name="async")

    async def main() -> int:
        async with AsyncTollgate(server_url, raw, agent="outside", session="conv-a") as client:

            @client.guarded(tool="refund")
            async def refund(amount: int) -> int:
                await asyncio.sleep(0)
                return amount + 1

            return await refund(amount=41)

    assert asyncio.run(main()) == 42
    assert ExternalAction.objects.get().outcome == "success"

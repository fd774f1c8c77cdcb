"""What a task stopped by a cost ceiling tells its owner: the ceiling, the call's worst case and,
for its own scopes, the spend; never the global hour's sums, which are every account's spend."""

from decimal import Decimal

import pytest

from agents.guards.spend import cost_reserve_rebuilt, cost_settle, task_call_reservation
from agents.models import Task
from agents.runtime.loop import task_steps_run
from agents.services.tasks import task_submit
from core import clock
from tests.factories import make_agent
from tracing.models import Span

pytestmark = pytest.mark.django_db(transaction=True)

CEILING = Decimal("0.00001")


def spent_by(owner, agent_name: str, amount: Decimal) -> None:
    """`owner`'s task spends `amount` in the scopes its calls count in (the global hour too)."""
    task, _ = task_submit(owner=owner, agent_name=agent_name, input="theirs")
    reservation = task_call_reservation(task, model="sim/echo", amount=amount, now=clock.now(), purpose="t")
    assert cost_reserve_rebuilt(reservation, now=clock.now())[0] == 1
    cost_settle(reservation, cost=amount, at=clock.now())


def halted(owner, agent_name: str) -> tuple[Task, Span]:
    task, _ = task_submit(owner=owner, agent_name=agent_name, input="mine")
    task_steps_run(task_id=task.id, max_steps=5, max_seconds=60)
    task.refresh_from_db()
    span = Span.objects.get(
        trace__task=task, kind="guardrail", attributes__has_key="tollgate.guardrail.verdict"
    )
    return task, span


def test_a_halt_in_the_global_hour_does_not_show_every_accounts_spend(
    requester, outsider, use_simulator, settings
):
    make_agent("shared", model="sim/echo")
    settings.GUARD_GLOBAL_HOUR_USD = CEILING
    spent_by(outsider, "shared", CEILING)  # another account fills the hour

    task, span = halted(requester, "shared")

    assert (task.status, task.stop_reason) == (Task.Status.HALTED, "cost_breaker_global_hour")
    assert task.stop_detail.startswith(
        "the global-hour cost ceiling of 0.00001 USD leaves no room for the next call "
        "(the call may cost up to "
    )
    assert "spent" not in task.stop_detail
    assert set(span.output) == {"scope", "ceiling_usd", "reservation_usd", "model"}
    assert span.output["scope"] == "global_hour"


def test_a_halt_in_the_accounts_own_day_still_shows_its_spend(requester, use_simulator, settings):
    make_agent("mine", model="sim/echo")
    settings.GUARD_USER_DAY_USD = CEILING
    spent_by(requester, "mine", CEILING)

    task, span = halted(requester, "mine")

    assert (task.status, task.stop_reason) == (Task.Status.HALTED, "cost_breaker_user_day")
    assert "(spent 0.000010000, the call may cost up to " in task.stop_detail
    assert (Decimal(span.output["spent_usd"]), Decimal(span.output["reserved_usd"])) == (CEILING, 0)

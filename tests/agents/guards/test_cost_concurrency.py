"""Fifty tasks of one user at once, run by a real worker pool, against a small user-day ceiling."""

import time
from decimal import Decimal

import pytest
from django.db.models import Sum

from agents.guards.models import GuardConfig, SpendRecord
from agents.guards.spend import owner_user_key, scope_usage
from agents.guards.store import guard_key
from agents.models import Task
from agents.services.tasks import task_submit
from agents.tasks import resume_stalled_tasks
from core import clock
from tests.factories import make_agent
from tests.support.processes import running_worker
from tracing.models import Span

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

CEILING = Decimal("0.0015")
TASKS = 50


def test_fifty_concurrent_tasks_never_spend_past_the_user_day_ceiling_nor_refuse_below_it(
    requester, use_simulator, guard_prefix, tmp_path
):
    # Each echo step costs about $0.00008 and reserves about $0.00018 (every prompt token at
    # the input rate, 256 output tokens): the ceiling fits about 18 of the 50.
    agent = make_agent("echoer", model="sim/echo")
    GuardConfig.objects.create(agent=agent, user_day_usd=CEILING)
    text = "Please repeat this sentence back to me exactly as written. " * 7
    env = {
        "SIMULATOR_URL": use_simulator,
        "GUARD_KEY_PREFIX": guard_prefix,
        "MAX_OUTPUT_TOKENS": "256",
        "GUARD_PARK_S": "0.5",
    }

    with running_worker(tmp_path, concurrency=8, **env):
        tasks = [
            task_submit(owner=requester, agent_name="echoer", input=text, end_user="alice")[0]
            for _ in range(TASKS)
        ]
        deadline = time.monotonic() + 180
        while Task.objects.exclude(status__in=Task.FINAL_STATUSES).exists():
            assert time.monotonic() < deadline, "the tasks did not all end"
            time.sleep(1)
            resume_stalled_tasks()  # what beat does: runs parked tasks again

    statuses = list(Task.objects.filter(pk__in=[t.pk for t in tasks]).values_list("status", "stop_reason"))
    succeeded = statuses.count((Task.Status.SUCCEEDED, "completed"))
    refused = statuses.count((Task.Status.HALTED, "cost_breaker_user_day"))
    assert succeeded + refused == TASKS
    assert succeeded >= 10
    assert refused >= 10

    alice = owner_user_key(owner_id=requester.pk, end_user="alice")
    settled = SpendRecord.objects.filter(user_key=alice).aggregate(total=Sum("cost_usd"))["total"]
    assert settled <= CEILING
    assert settled == sum(t.cost_usd for t in Task.objects.filter(pk__in=[t.pk for t in tasks]))
    spent, reserved = scope_usage(guard_key("cost", "user", alice, f"{clock.now():%Y%m%d}"))
    assert reserved == 0
    assert spent >= settled

    # No refusal while real spend was below the ceiling minus one step's reservation.
    for span in Span.objects.filter(trace__task__in=tasks, name="guardrail cost_breaker_user_day"):
        if span.attributes["tollgate.guardrail.verdict"] == "halt":
            detail = span.output
            assert Decimal(detail["spent_usd"]) > CEILING - Decimal(detail["reservation_usd"])

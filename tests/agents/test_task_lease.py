"""A task's lease: one holder at a time, renewed while it runs, and lost for good once taken over."""

from datetime import timedelta

import pytest
import time_machine

from agents.models import Task
from agents.runtime.lease import Lease, LeaseLost, lease_claim, lease_forget, leases_renew_all
from agents.services.tasks import task_submit
from core import clock
from tests.factories import make_agent
from tests.support.races import race

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def task(requester) -> Task:
    make_agent("echoer", model="sim/echo")
    task, _ = task_submit(owner=requester, agent_name="echoer", input="hi")
    return task


def claim(task: Task) -> Lease:
    lease = lease_claim(task.id)
    assert lease is not None
    return lease


def test_a_held_lease_cannot_be_claimed_by_another_run(task, settings):
    settings.TASK_LEASE_S = 30
    first = claim(task)
    try:
        assert lease_claim(task.id) is None
        task.refresh_from_db()
        assert task.status == Task.Status.RUNNING
        assert task.lease_owner == first.token
    finally:
        lease_forget(first)


def test_ten_runs_racing_for_one_task_leave_exactly_one_holder(task, settings):
    settings.TASK_LEASE_S = 30

    claims = race(*[lambda: lease_claim(task.id)] * 10)

    won = [lease for lease in claims if lease is not None]
    assert len(won) == 1
    lease_forget(won[0])


def test_the_heartbeat_renews_every_held_lease_in_one_update(task, requester, settings):
    settings.TASK_LEASE_S = 30
    other, _ = task_submit(owner=requester, agent_name="echoer", input="again")
    leases = [claim(task), claim(other)]
    try:
        with time_machine.travel(clock.now() + timedelta(seconds=20), tick=False):
            assert leases_renew_all() == 2
            for row in Task.objects.filter(pk__in=[task.pk, other.pk]):
                assert row.lease_until == clock.now() + timedelta(seconds=30)
            assert all(lease.renewed_at == clock.now() for lease in leases)
    finally:
        for lease in leases:
            lease_forget(lease)


def test_a_lease_that_passed_to_another_run_is_not_renewed_and_stops_its_run(task, settings):
    settings.TASK_LEASE_S = 30
    first = claim(task)
    try:
        # The first run stalls past its lease; another worker takes the task over.
        with time_machine.travel(clock.now() + timedelta(seconds=31), tick=False):
            second = claim(task)
            assert leases_renew_all() == 1  # only the new holder's
            task.refresh_from_db()
            assert task.lease_owner == second.token
            with pytest.raises(LeaseLost):
                first.ensure()
            # Once lost, always lost: no later call re-checks and proceeds.
            with pytest.raises(LeaseLost):
                first.ensure()
            second.ensure()
        lease_forget(second)
    finally:
        lease_forget(first)


def test_ensure_goes_to_the_database_only_once_a_third_of_the_lease_has_passed(
    task, settings, django_assert_num_queries
):
    settings.TASK_LEASE_S = 30
    lease = claim(task)
    try:
        with django_assert_num_queries(0):
            lease.ensure()
        with time_machine.travel(clock.now() + timedelta(seconds=11), tick=False):
            with django_assert_num_queries(1):
                lease.ensure()
            task.refresh_from_db()
            assert task.lease_until == clock.now() + timedelta(seconds=30)
    finally:
        lease_forget(lease)

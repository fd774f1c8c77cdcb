"""Redis stopped under a real worker: the task parks without a model call and resumes once it is back."""

import time

import pytest
from django.db.models import Sum

from agents.guards.models import SpendRecord
from agents.models import Task
from agents.services.tasks import task_submit
from agents.tasks import resume_stalled_tasks
from tests.agents.guards.test_redis_down import private_redis
from tests.factories import make_agent, make_http_tool
from tests.support.processes import free_port, running_worker
from tests.support.toolserver import running_tool_server
from tracing.models import Span

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_worker_parks_a_task_while_redis_is_down_and_beat_resumes_it(requester, use_simulator, tmp_path):
    port = free_port()
    env = {
        "SIMULATOR_URL": use_simulator,
        "GUARD_REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "GUARD_PARK_S": "0.5",
    }
    # The tool holds its first answer, so Redis can be stopped while step 0 is in flight.
    with running_tool_server(hold_first_s=2) as (url, server), running_worker(tmp_path, **env):
        make_agent(
            "metered", model="sim/chain?calls=2&tool=refund_tool", tools=[make_http_tool("refund_tool", url)]
        )
        with private_redis(port, tmp_path):
            task, _ = task_submit(owner=requester, agent_name="metered", input="go")
            assert server.received.wait(20)
        # Redis is down: step 0 finishes, step 1's model call must not go out.
        deadline = time.monotonic() + 20
        while not Span.objects.filter(trace__task=task, name="guardrail cost_breaker").exists():
            assert time.monotonic() < deadline, "the task did not park"
            time.sleep(0.2)
        time.sleep(1.5)
        resume_stalled_tasks()  # beat, while Redis is still down: it parks again
        time.sleep(1.5)
        task.refresh_from_db()
        assert (task.status, task.step_index, task.steps.count()) == (Task.Status.RUNNING, 1, 1)

        with private_redis(port, tmp_path):
            deadline = time.monotonic() + 30
            while task.status not in Task.FINAL_STATUSES:
                assert time.monotonic() < deadline, "the task did not resume"
                resume_stalled_tasks()
                time.sleep(0.5)
                task.refresh_from_db()

    assert task.status == Task.Status.SUCCEEDED
    assert server.requests == 2
    records = SpendRecord.objects.filter(task_id=task.id)
    assert records.count() == task.steps.count() == 3
    assert records.aggregate(total=Sum("cost_usd"))["total"] == task.cost_usd

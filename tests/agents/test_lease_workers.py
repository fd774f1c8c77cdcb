"""Two real workers and a step slower than the lease: the heartbeat keeps the step with one of them."""

import time

import pytest

from agents.models import Step, Task
from agents.services.tasks import task_submit, tasks_stalled_resume
from agents.tasks import run_task
from tests.factories import make_agent, make_http_tool
from tests.support.processes import running_worker
from tests.support.toolserver import running_tool_server
from tracing.models import Span

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_step_slower_than_the_lease_never_runs_on_a_second_worker(
    requester, simulator_url, sim_priced, tmp_path
):
    # Each model call takes 5 s against a 2 s lease: without renewal, the lease would pass
    # twice during the first call alone.
    short_lease = {"SIMULATOR_URL": simulator_url, "TASK_LEASE_S": "2"}
    with running_tool_server() as (url, server):
        make_agent(
            "slowpoke",
            model="sim/chain?calls=1&tool=refund_tool&latency_ms=5000",
            tools=[make_http_tool("refund_tool", url)],
        )
        with running_worker(tmp_path, **short_lease) as one, running_worker(tmp_path, **short_lease) as two:
            task, _ = task_submit(owner=requester, agent_name="slowpoke", input="refund it")
            deadline = time.monotonic() + 60
            while Task.objects.get(pk=task.pk).status not in Task.FINAL_STATUSES:
                assert time.monotonic() < deadline, one.output() + two.output()
                # What beat does, plus a duplicate delivery each round: the idle worker tries
                # to take the task over every time.
                tasks_stalled_resume()
                run_task.delay(str(task.pk))
                time.sleep(0.5)

    task.refresh_from_db()
    assert task.status == Task.Status.SUCCEEDED, task.stop_detail
    assert server.requests == 1
    assert server.side_effects == 1
    assert list(Step.objects.filter(task=task).values_list("index", flat=True)) == [0, 1]
    # Each step's model call was made once, by the run that held the lease.
    for index in (0, 1):
        assert Span.objects.filter(trace__task=task, kind="model", step_index=index).count() == 1

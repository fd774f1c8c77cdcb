"""A failing canary run by a real worker against the simulator, judged by the beat task on the
worker: the rollout rolls back by itself and new sessions get the baseline."""

import time

import pytest

from agents.models import AgentVersion, Rollout, Task
from agents.rollouts.services import rollout_start
from agents.services.tasks import task_submit
from agents.tasks import judge_rollouts
from approvals.models import AuditEntry
from tests.factories import make_agent
from tests.support.processes import running_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def wait_for(predicate, worker, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, worker.output()
        time.sleep(0.2)


def test_a_canary_that_fails_is_rolled_back_by_the_beat_task_on_a_worker(
    admin, requester, simulator_url, sim_priced, tmp_path
):
    agent = make_agent("bot", model="sim/echo")
    AgentVersion.objects.create(agent=agent, number=2, model="sim/model_down")
    rollout = rollout_start(actor=admin, agent_name="bot", canary_version=2, percent=50, min_tasks=2)
    arms: list[str] = []
    for _ in range(60):
        task, _ = task_submit(owner=requester, agent_name="bot", input="hello")
        arms.append(task.session.rollout_arm)
        if arms.count("canary") >= 2 and "baseline" in arms:
            break

    with running_worker(tmp_path, SIMULATOR_URL=simulator_url) as worker:
        wait_for(lambda: not Task.objects.exclude(status__in=Task.FINAL_STATUSES).exists(), worker)
        judge_rollouts.delay()
        wait_for(lambda: Rollout.objects.get(pk=rollout.pk).status != Rollout.Status.ACTIVE, worker)

    rollout.refresh_from_db()
    assert (rollout.status, rollout.ended_by) == ("rolled_back", None)
    assert rollout.ended_reason.startswith("automatic: the canary's failure rate ")
    assert AuditEntry.objects.get(action="rollout.rolled_back").actor is None
    canary_tasks = Task.objects.filter(session__rollout=rollout, session__rollout_arm="canary")
    assert set(canary_tasks.values_list("status", flat=True)) == {"failed"}
    for _ in range(5):
        session = task_submit(owner=requester, agent_name="bot", input="hi")[0].session
        assert (session.agent_version_id, session.rollout_id) == (rollout.baseline_id, None)

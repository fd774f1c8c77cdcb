"""Replays run by a real worker process: the recording is served there too, and nothing runs live."""

import pytest

from agents.models import AgentVersion, Task
from replays.models import Replay
from tests.replays.conftest import Recorded
from tests.support.processes import running_worker, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def finished(replay_id: str) -> bool:
    task = Replay.objects.select_related("task").get(pk=replay_id).task
    return task.status in Task.FINAL_STATUSES


def test_the_workers_replay_a_recorded_task_identically_and_with_a_live_model(
    recorded: Recorded, reviewer_api, use_simulator, tmp_path
):
    shorter = AgentVersion.objects.create(
        agent=recorded.agent, number=2, model="sim/chain?calls=1&tool=lookup_tool", system_prompt="Be brief."
    )
    shorter.tools.set(recorded.agent.current_version.tools.all())
    url = f"/api/v1/tasks/{recorded.task.id}/replay"
    with running_worker(tmp_path, SIMULATOR_URL=use_simulator):
        same = reviewer_api.post(url, {}, content_type="application/json").json()["id"]
        live = reviewer_api.post(
            url, {"agent_version": 2, "live_model": True}, content_type="application/json"
        ).json()["id"]
        wait_until(lambda: finished(same) and finished(live), what="both replays to finish")

    same_diff = reviewer_api.get(f"/api/v1/replays/{same}").json()
    assert same_diff["identical"] is True, same_diff["differences"]
    live_diff = reviewer_api.get(f"/api/v1/replays/{live}").json()
    assert live_diff["status"] == "succeeded"
    assert live_diff["agent_version"] == 2
    assert live_diff["identical"] is False
    assert Task.objects.get(pk=live_diff["task"]).cost_usd > 0  # the live model was paid
    assert Task.objects.get(pk=same_diff["task"]).cost_usd == 0
    assert recorded.server.requests == recorded.requests  # no tool ran in either

"""The demo's tasks, each replayed from its recording, reproduce every decision the runtime made."""

import httpx
import pytest

from agents import demo
from agents.models import Task
from agents.runtime.loop import RunOutcome
from agents.services.tasks import task_submit
from approvals.models import ActionRequest
from approvals.services import action_request_decide
from replays.diff import replay_diff
from replays.services import replay_start
from tests.approvals.conftest import make_reviewer
from tests.replays.conftest import run

pytestmark = pytest.mark.django_db(transaction=True)

DEMO_TASKS = {
    "support-bot": "Order A-1001 arrived broken, please refund it",
    "researcher": "What changed in the EU AI Act this year?",
    "inventory-bot": "Is SKU-42 in stock?",
    "looper": "What is the weather?",
}


def finished(task: Task, approver) -> Task:
    """Run the task to its end, approving whatever it asks a person for."""
    for _ in range(10):
        outcome = run(task)
        if outcome is RunOutcome.FINISHED:
            break
        for held in ActionRequest.objects.filter(task=task, status="pending"):
            action_request_decide(action_request=held, actor=approver, decision="approve")
    task.refresh_from_db()
    assert task.is_final, (task.session.agent.name, outcome, task.status, task.stop_detail)
    return task


def test_every_demo_task_replays_with_no_difference_and_nothing_live(
    requester, use_simulator, tmp_path, monkeypatch
):
    monkeypatch.setattr(demo, "LOGINS_FILE", tmp_path / "demo-logins.json")
    demo.demo_load(simulator_url=use_simulator)
    approver = make_reviewer("approver")
    originals = {
        agent: finished(task_submit(owner=requester, agent_name=agent, input=text)[0], approver)
        for agent, text in DEMO_TASKS.items()
    }
    # The demo covers a held call approved by a person, a tool that fails, and a loop halted.
    refund = ActionRequest.objects.get(task=originals["support-bot"])
    assert (refund.status, refund.decided_by) == ("executed", approver)
    assert originals["looper"].status == Task.Status.HALTED
    stats_before = httpx.get(f"{use_simulator}/tools/stats").json()
    requests_before = ActionRequest.objects.count()

    for agent, original in originals.items():
        replay = replay_start(original, by=approver)
        finished(replay.task, approver)
        diff = replay_diff(replay)
        assert diff["differences"] == [], agent
        assert diff["identical"] is True
        assert (replay.task.status, replay.task.stop_reason) == (original.status, original.stop_reason)

    assert httpx.get(f"{use_simulator}/tools/stats").json() == stats_before  # no tool ran again
    assert ActionRequest.objects.count() == requests_before  # nobody was asked

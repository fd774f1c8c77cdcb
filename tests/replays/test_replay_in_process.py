"""Replays run in-process: the recorded decisions are made again, and nothing runs live."""

from decimal import Decimal

import pytest

from agents.models import AgentVersion, Task
from agents.runtime.loop import RunOutcome
from approvals.models import ActionRequest
from approvals.policy.evaluate import policy_current_version
from approvals.policy.services import tool_tier_set
from core.errors import Conflict, NotFound
from replays.diff import replay_diff
from replays.models import Replay
from replays.services import replay_start
from tests.replays.conftest import Recorded, run
from tracing.models import Span

pytestmark = pytest.mark.django_db(transaction=True)


def replayed(replay: Replay) -> dict:
    assert run(replay.task) is RunOutcome.FINISHED  # never parks: nobody is asked
    replay.task.refresh_from_db()
    return replay_diff(replay)


def test_a_replay_of_every_tier_and_decision_diffs_nothing(recorded: Recorded, reviewer):
    requests_before = ActionRequest.objects.count()
    replay = replay_start(recorded.task, by=reviewer)

    diff = replayed(replay)

    assert diff["differences"] == []
    assert diff["identical"] is True
    task = replay.task
    assert (task.status, task.result, task.owner) == ("succeeded", recorded.task.result, reviewer)
    assert task.session_id != recorded.task.session_id
    assert recorded.server.requests == recorded.requests  # no tool ran
    assert ActionRequest.objects.count() == requests_before  # nobody was asked
    assert task.cost_usd == Decimal(0)  # no model was paid
    assert task.input_tokens == recorded.task.input_tokens
    calls = [call["replay"] for step in diff["steps"] for call in step["calls"]]
    seen = [(call["tool"], call["tier"], call["decision"], call["outcome"]) for call in calls]
    assert seen == [
        ("lookup_tool", "low", "allow", ""),
        ("notify_tool", "medium", "autosend", ""),
        ("refund_tool", "high", "approval", ""),
        ("wipe_tool", "high", "approval", "rejected"),
        ("delete_tool", "critical", "deny", "person_must_act"),
    ]


def test_a_replay_under_a_changed_tier_shows_exactly_that_change(recorded: Recorded, admin, reviewer):
    recorded_version = policy_current_version()
    lookup = recorded.agent.current_version.tools.get(name="lookup_tool")
    tool_tier_set(actor=admin, tool=lookup, tier="medium")

    diff = replayed(replay_start(recorded.task, by=reviewer))

    changes = [(d["step"], d["call"], d["field"], d["original"], d["replay"]) for d in diff["differences"]]
    assert changes == [(0, 0, "tier", "low", "medium"), (0, 0, "decision", "allow", "autosend")]
    assert [step["changed"] for step in diff["steps"]] == [True, False, False, False, False, False]
    assert recorded.server.requests == recorded.requests

    # Under the version the original ran with, nothing differs again.
    again = replayed(replay_start(recorded.task, by=reviewer, policy_version=recorded_version))
    assert again["identical"] is True
    assert again["steps"][0]["calls"][0]["replay"]["policy_version"] == recorded_version


def test_a_task_recorded_before_verdicts_were_traced_is_compared_through_its_requests(
    recorded: Recorded, reviewer
):
    for span in Span.objects.filter(trace__task=recorded.task, kind="tool"):
        span.attributes = {k: v for k, v in span.attributes.items() if not k.startswith("tollgate.gate.")}
        span.save(update_fields=["attributes"])

    diff = replayed(replay_start(recorded.task, by=reviewer))

    assert diff["identical"] is True, diff["differences"]


def test_a_live_model_replay_under_another_version_runs_with_the_recorded_tools(
    recorded: Recorded, requester
):
    current = recorded.agent.current_version
    shorter = AgentVersion.objects.create(
        agent=recorded.agent, number=2, model="sim/chain?calls=1&tool=lookup_tool", system_prompt="Be brief."
    )
    shorter.tools.set(current.tools.all())

    replay = replay_start(recorded.task, by=requester, agent_version=2, live_model=True)
    diff = replayed(replay)

    assert replay.task.session.agent_version == shorter
    assert replay.task.status == Task.Status.SUCCEEDED
    assert replay.task.cost_usd > 0  # the model was asked
    assert recorded.server.requests == recorded.requests  # its one call got the recorded lookup
    assert diff["identical"] is False
    assert diff["steps"][0]["calls"][0]["replay"]["arguments"] == {"i": 1}
    assert (0, 0, "arguments") not in [(d["step"], d["call"], d["field"]) for d in diff["differences"]]


def test_only_a_finished_task_with_known_versions_is_replayed(recorded: Recorded, reviewer, requester):
    with pytest.raises(NotFound):
        replay_start(recorded.task, by=reviewer, agent_version=9)
    with pytest.raises(NotFound):
        replay_start(recorded.task, by=reviewer, policy_version=policy_current_version() + 1)
    Task.objects.filter(pk=recorded.task.pk).update(status=Task.Status.WAITING_APPROVAL)
    recorded.task.refresh_from_db()
    with pytest.raises(Conflict):
        replay_start(recorded.task, by=reviewer)
    assert not Replay.objects.exists()

"""Replays run in-process: the recorded decisions are made again, and nothing runs live."""

from decimal import Decimal

import pytest

from agents.models import AgentVersion, Task
from agents.runtime.loop import RunOutcome
from agents.services.tasks import task_submit
from approvals.models import ActionRequest
from approvals.policy.evaluate import policy_current_version
from approvals.policy.services import tool_tier_set
from core.errors import Conflict, NotFound
from replays.diff import replay_diff
from replays.models import Replay
from replays.services import replay_start
from tests.factories import make_agent, make_http_tool
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
    seen = [(call["tool"], call["tier"], call["decision"], call["declined"]) for call in calls]
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
    # The recorded results also answer calls by tool and arguments, wherever the model makes them.
    anywhere = [f for f in replay.task.playback["tool_results"] if "step" not in f]
    assert [(f["tool"], f["arguments"]) for f in anywhere][:2] == [
        ("lookup_tool", {"i": 1}),
        ("notify_tool", {"i": 2}),
    ]
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


def test_loop_detection_decides_again_and_a_looser_version_runs_past_it(requester, reviewer, use_simulator):
    search = make_http_tool("search_web", f"{use_simulator}/tools/search_web")
    agent = make_agent("looper", model="sim/loop", tools=[search], repeat_limit=50)
    original, _ = task_submit(owner=requester, agent_name="looper", input="What is the capital of Australia?")
    run(original)
    original.refresh_from_db()
    assert (original.status, original.stop_reason) == ("halted", "loop_detected")

    diff = replayed(replay_start(original, by=reviewer))
    assert diff["identical"] is True, diff["differences"]
    assert diff["steps"][-1]["guards"]["replay"] == [{"guard": "loop_detected", "verdict": "halt"}]

    # A version whose threshold no similarity passes: the guard lets step 4 through, and the
    # recording (four replies) runs out there.
    looser_version = AgentVersion.objects.create(
        agent=agent, number=2, model="sim/loop", system_prompt="-", repeat_limit=50, loop_threshold=1.0
    )
    looser_version.tools.set([search])
    looser = replayed(replay_start(original, by=reviewer, agent_version=2))
    changes = {(d["step"], d["field"]): (d["original"], d["replay"]) for d in looser["differences"]}
    assert changes[(4, "guards")] == ([{"guard": "loop_detected", "verdict": "halt"}], [])
    assert changes[(None, "stop_reason")] == ("loop_detected", "playback_exhausted")

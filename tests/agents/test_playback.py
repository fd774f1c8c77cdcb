"""Playback: model replies and tool results served from a recording (agents/runtime/playback.py)."""

from decimal import Decimal

import pytest

from agents.models import Session, Task
from agents.runtime.loop import RunOutcome, task_steps_run
from agents.runtime.playback import MISSING_FIXTURE, playback_validate
from agents.services.tasks import task_create, task_submit
from core.errors import Invalid
from tests.factories import make_agent, make_http_tool
from tracing.models import Span

pytestmark = pytest.mark.django_db(transaction=True)


def run(task: Task) -> RunOutcome:
    return task_steps_run(task_id=task.id, max_steps=50, max_seconds=60)


def new_session_task(user, agent, *, playback: dict) -> Task:
    session = Session.objects.create(agent=agent, agent_version=agent.current_version, owner=user)
    return task_create(session=session, owner=user, input="go", playback=playback)


def recording_of(task: Task) -> dict:
    steps = list(task.steps.order_by("index"))
    return {
        "model_replies": [step.response for step in steps],
        "tool_results": [
            {"tool": call["name"], "step": step.index, "call": i, "result": result}
            for step in steps
            for i, (call, result) in enumerate(
                zip(step.response["tool_calls"], step.tool_results, strict=True)
            )
        ],
    }


def test_a_recorded_task_plays_back_without_calling_the_tools_or_paying_the_model(
    requester, use_simulator, tool_server
):
    url, server = tool_server
    agent = make_agent(
        "chainer", model="sim/chain?calls=2&tool=refund_tool", tools=[make_http_tool("refund_tool", url)]
    )
    original, _ = task_submit(owner=requester, agent_name="chainer", input="go")
    assert run(original) is RunOutcome.FINISHED
    original.refresh_from_db()
    assert server.requests == 2
    assert original.cost_usd > 0

    replay = new_session_task(requester, agent, playback=recording_of(original))
    assert run(replay) is RunOutcome.FINISHED

    replay.refresh_from_db()
    assert server.requests == 2  # no tool ran again
    assert replay.status == Task.Status.SUCCEEDED
    assert replay.result == original.result
    assert replay.messages == original.messages
    assert replay.cost_usd == Decimal(0)
    # Token counts are kept as recorded, so token budgets decide as they did.
    assert replay.input_tokens == original.input_tokens
    model_spans = Span.objects.filter(trace__task=replay, kind="model")
    assert model_spans.count() == 3
    assert {span.attributes.get("tollgate.playback") for span in model_spans} == {"recorded"}
    assert set(replay.steps.values_list("model_latency_ms", flat=True)) == {0.0}


def test_tool_fixtures_answer_a_live_model_and_a_call_without_one_gets_an_error(
    requester, use_simulator, tool_server
):
    url, server = tool_server
    agent = make_agent(
        "chainer",
        model="sim/chain?calls=2&tool=refund_tool",
        tools=[make_http_tool("refund_tool", url), make_http_tool("other", url)],
    )
    fixture = {"tool": "other", "arguments": None, "result": {"status": "success", "data": {"id": "r1"}}}
    task = new_session_task(requester, agent, playback={"tool_results": [fixture]})
    assert run(task) is RunOutcome.FINISHED

    assert server.requests == 0
    outputs = [span.output for span in Span.objects.filter(trace__task=task, kind="tool").order_by("id")]
    assert len(outputs) == 2
    assert all(output["status"] == "error" and output["message"] == MISSING_FIXTURE for output in outputs)
    assert outputs[0]["data"] == {"fixture": "missing"}

    matched = {**fixture, "tool": "refund_tool"}
    task = new_session_task(requester, agent, playback={"tool_results": [matched]})
    assert run(task) is RunOutcome.FINISHED
    assert server.requests == 0
    outputs = [span.output for span in Span.objects.filter(trace__task=task, kind="tool")]
    assert [output["data"] for output in outputs] == [{"id": "r1"}, {"id": "r1"}]


def test_a_tool_named_live_runs_for_real(requester, use_simulator, tool_server):
    url, server = tool_server
    agent = make_agent(
        "chainer", model="sim/chain?calls=1&tool=refund_tool", tools=[make_http_tool("refund_tool", url)]
    )
    task = new_session_task(requester, agent, playback={"tool_results": [], "live_tools": ["refund_tool"]})
    assert run(task) is RunOutcome.FINISHED
    assert server.requests == 1


def test_a_step_past_the_recording_fails_the_task(requester, use_simulator, tool_server):
    url, _ = tool_server
    agent = make_agent(
        "chainer", model="sim/chain?calls=2&tool=refund_tool", tools=[make_http_tool("refund_tool", url)]
    )
    original, _ = task_submit(owner=requester, agent_name="chainer", input="go")
    run(original)
    recording = recording_of(original)
    recording["model_replies"] = recording["model_replies"][:1]

    task = new_session_task(requester, agent, playback=recording)
    assert run(task) is RunOutcome.FINISHED
    task.refresh_from_db()
    assert task.status == Task.Status.FAILED
    assert task.stop_reason == "playback_exhausted"
    assert "step 1 has no recorded model reply" in task.stop_detail


@pytest.mark.parametrize(
    ("playback", "message"),
    [
        ([], "playback must be an object"),
        ({"model": []}, "unknown keys"),
        ({"model_replies": {}}, "model_replies must be a list"),
        ({"model_replies": [{"content": "x"}]}, "needs the keys"),
        ({"tool_results": [{"tool": "x"}]}, "is a tool result"),
        ({"tool_results": [{"tool": "x", "result": {"status": "ok"}}]}, "is a tool result"),
        ({"tool_results": [{"tool": "", "result": {"status": "success"}}]}, "names its tool"),
        ({"tool_results": [{"tool": "x", "step": 1, "result": {"status": "success"}}]}, "both its step"),
        ({"tool_results": [{"tool": "x", "step": -1, "call": 0, "result": {"status": "error"}}]}, "non-neg"),
        ({"tool_results": [{"tool": "x", "arguments": [1], "result": {"status": "success"}}]}, "an object"),
        ({"tool_results": [{"tool": "x", "extra": 1, "result": {"status": "success"}}]}, "only the keys"),
        ({"live_tools": [""]}, "tool names"),
        ({"live_tools": ["a"] * 65}, "more than 64"),
        ({"tool_results": [{"tool": "x", "result": {"status": "success"}}] * 2001}, "more than 2000"),
    ],
)
def test_a_malformed_recording_is_refused_with_what_is_wrong(playback, message):
    with pytest.raises(Invalid, match=message):
        playback_validate(playback)


def test_a_recording_larger_than_the_bound_is_refused():
    fixture = {"tool": "x", "result": {"status": "success", "data": "y" * 10_000}}
    with pytest.raises(Invalid, match="larger than"):
        playback_validate({"tool_results": [fixture] * 500})

"""Token, tool-call and wall-time budgets, run against the real simulator over HTTP."""

from datetime import timedelta

import pytest
import time_machine

from agents.guards.models import GuardConfig
from agents.models import Task
from agents.runtime import messages as conversation
from agents.runtime.loop import task_steps_run
from agents.services.tasks import task_submit
from core import clock
from tests.factories import make_agent, make_http_tool
from tracing.models import Span

pytestmark = pytest.mark.django_db(transaction=True)

CHAIN = "sim/chain?calls=6&tool=refund_tool"
# The same scenario under another name: the cheaper model, as far as the trace can tell.
FALLBACK = "sim/chain?tool=refund_tool&calls=6"


def run(task: Task) -> Task:
    task_steps_run(task_id=task.id, max_steps=50, max_seconds=60)
    task.refresh_from_db()
    return task


def guardrail_spans(task: Task) -> list[Span]:
    return list(Span.objects.filter(trace__task=task, kind="guardrail").order_by("step_index", "started_at"))


def test_above_80_percent_of_the_token_budget_the_cheaper_model_runs_and_at_100_the_task_halts(
    requester, use_simulator, tool_server
):
    # The chain's steps use 59, 168, 327, 536, 795, 1104 tokens in total (the simulator bills
    # four characters a token), so a 900-token budget passes 80% after step 4 and 100% after 5.
    url, _server = tool_server
    make_agent(
        "thrifty",
        model=CHAIN,
        fallback_model=FALLBACK,
        tools=[make_http_tool("refund_tool", url)],
        max_tokens=900,
    )
    task, _ = task_submit(owner=requester, agent_name="thrifty", input="go")

    task = run(task)

    assert task.status == Task.Status.HALTED
    assert task.stop_reason == "token_budget"
    assert task.partial is True
    assert task.result == conversation.last_answer(task.messages)
    assert task.input_tokens + task.output_tokens >= 900
    downgrade, halt = guardrail_spans(task)
    assert (downgrade.name, downgrade.attributes["tollgate.guardrail.verdict"]) == (
        "guardrail token_budget",
        "downgrade",
    )
    assert (halt.name, halt.attributes["tollgate.guardrail.verdict"], halt.status) == (
        "guardrail token_budget",
        "halt",
        "error",
    )
    models = dict(task.steps.values_list("index", "model"))
    assert {models[i] for i in models if i < downgrade.step_index} == {CHAIN}
    assert {models[i] for i in models if i >= downgrade.step_index} == {FALLBACK}
    assert halt.step_index == len(models)
    model_span = Span.objects.get(trace__task=task, kind="model", step_index=downgrade.step_index)
    assert model_span.attributes["tollgate.route.model"] == FALLBACK
    assert "token_budget" in model_span.attributes["tollgate.route.reason"]


def test_the_session_budget_counts_the_sessions_earlier_tasks(requester, use_simulator):
    agent = make_agent("chatty", model="sim/echo")
    GuardConfig.objects.create(agent=agent, session_max_tokens=40)
    first, _ = task_submit(owner=requester, agent_name="chatty", input="x" * 120)
    first = run(first)
    assert first.status == Task.Status.SUCCEEDED
    assert first.input_tokens + first.output_tokens >= 40

    second, _ = task_submit(owner=requester, agent_name="chatty", input="again", session_id=first.session_id)
    second = run(second)

    assert (second.status, second.stop_reason) == (Task.Status.HALTED, "token_budget")
    assert second.steps.count() == 0
    (halt,) = guardrail_spans(second)
    assert halt.output["scope"] == "session"


def test_the_tool_call_budget_halts_the_task(requester, use_simulator, tool_server):
    url, server = tool_server
    make_agent("busy", model=CHAIN, tools=[make_http_tool("refund_tool", url)], max_tool_calls=2)
    task, _ = task_submit(owner=requester, agent_name="busy", input="go")

    task = run(task)

    assert (task.status, task.stop_reason, task.partial) == (Task.Status.HALTED, "max_tool_calls", True)
    assert task.tool_calls == 2
    assert server.requests == 2


def test_a_session_past_its_wall_time_halts(requester, use_simulator, tool_server):
    url, server = tool_server
    make_agent("slow", model=CHAIN, tools=[make_http_tool("refund_tool", url)], max_seconds=60)
    task, _ = task_submit(owner=requester, agent_name="slow", input="go")
    assert task_steps_run(task_id=task.id, max_steps=2, max_seconds=60).value == "yielded"

    with time_machine.travel(clock.now() + timedelta(seconds=61), tick=False):
        task = run(task)

    assert (task.status, task.stop_reason, task.partial) == (Task.Status.HALTED, "max_seconds", True)
    assert task.steps.count() == 2
    assert server.requests == 2


def test_a_step_asking_for_more_tool_calls_than_are_left_gets_the_rest_refused(
    requester, use_simulator, tool_server
):
    url, server = tool_server
    tool = make_http_tool("refund_tool", url)
    make_agent("parallel", model="sim/parallel_calls", tools=[tool], max_tool_calls=2)
    task, _ = task_submit(owner=requester, agent_name="parallel", input="go")

    task = run(task)

    # One step asked for four calls: two ran, two were refused with a structured error.
    assert server.requests == 2
    results = [m["content"] for m in task.messages if m["role"] == "tool"]
    assert len(results) == 4
    assert sum("tool calls is used up" in r for r in results) == 2
    assert (task.status, task.stop_reason) == (Task.Status.HALTED, "max_tool_calls")

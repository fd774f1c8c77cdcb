"""A long session stays under its context budget: old tool results cut, older turns summarised."""

import json

import pytest

from agents.guards.context import SUMMARY_PREFIX
from agents.guards.models import GuardConfig
from agents.models import Task
from agents.runtime.loop import task_steps_run
from agents.runtime.messages import task_conversation
from agents.services.tasks import task_submit
from tests.agents.guards.faultserver import always, running_fault_server
from tests.factories import make_agent, make_http_tool
from tracing.models import Span

pytestmark = pytest.mark.django_db(transaction=True)

BUDGET = 3000


def test_a_long_session_stays_under_its_context_budget(requester, use_simulator):
    # 40 steps, each tool call answering about 2,000 characters (~500 tokens): 20,000 tokens
    # of results against a 3,000-token budget. (The simulator finds its place in a scenario
    # from the conversation, which the summary shortens, so the chain is made endless and
    # the run ends at max_iterations.)
    with running_fault_server(always(200), pad=2000) as (url, server):
        tool = make_http_tool("lookup", url)
        agent = make_agent(
            "reader",
            model="sim/chain?calls=1000&tool=lookup",
            fallback_model="sim/summarise",
            tools=[tool],
            max_iterations=40,
        )
        GuardConfig.objects.create(agent=agent, context_max_tokens=BUDGET, keep_tool_results=2)
        task, _ = task_submit(owner=requester, agent_name="reader", input="look everything up")
        task_steps_run(task_id=task.id, max_steps=100, max_seconds=120)

    task.refresh_from_db()
    assert (task.status, task.stop_reason) == (Task.Status.HALTED, "max_iterations")
    assert server.requests == 40
    # Measured by the simulator on what was really sent, the way a provider bills it.
    model_spans = Span.objects.filter(trace__task=task, name__startswith="chat ")
    sent = [s.attributes["gen_ai.usage.input_tokens"] for s in model_spans]
    assert len(sent) == 40
    assert max(sent) <= BUDGET
    summaries = list(Span.objects.filter(trace__task=task, name="context summarise"))
    assert summaries
    assert summaries[0].attributes["gen_ai.request.model"] == "sim/summarise"
    assert summaries[0].output["content"].startswith("Summary:")
    # The checkpoint holds the shortened conversation: a summary, then the recent turns whole.
    assert task.messages[0]["content"].startswith(SUMMARY_PREFIX)
    tool_contents = [m["content"] for m in task.messages if m["role"] == "tool"]
    whole = [c for c in tool_contents if "filler" in c]
    assert len(whole) >= 2
    assert json.loads(tool_contents[-1])["status"] == "success"


def test_context_control_rewriting_the_sessions_earlier_turns_replaces_the_reference(
    requester, use_simulator
):
    with running_fault_server(always(200), pad=2000) as (url, _server):
        tool = make_http_tool("lookup", url)
        agent = make_agent(
            "reader", model="sim/chain?calls=4&tool=lookup", fallback_model="sim/summarise", tools=[tool]
        )
        first, _ = task_submit(owner=requester, agent_name="reader", input="look four things up")
        task_steps_run(task_id=first.id, max_steps=100, max_seconds=120)
        # The second task starts from the first's conversation (about 2,500 tokens of results).
        GuardConfig.objects.create(agent=agent, context_max_tokens=1200, keep_tool_results=1)
        second, _ = task_submit(
            owner=requester, agent_name="reader", input="and four more", session_id=first.session_id
        )
        task_steps_run(task_id=second.id, max_steps=100, max_seconds=120)

    second.refresh_from_db()
    assert second.status == Task.Status.SUCCEEDED
    # The first task's tool results were cut to stubs: the second task keeps the rewritten
    # whole conversation, and no reference to a first task's that it no longer continues.
    assert (second.history_task_id, second.history_messages) == (None, 0)
    assert second.messages[0]["content"] == "look four things up"
    first_results = [m["content"] for m in second.messages[:10] if m["role"] == "tool"]
    assert "elided" in first_results[0]
    assert task_conversation(second) == second.messages

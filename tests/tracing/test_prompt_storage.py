"""A model span stores only its step's new messages and a reference to the previous step's span;
the trace page and the export put the whole prompt back together, exactly as it was sent."""

import itertools

import pytest
from django.urls import reverse

from agents.guards.models import GuardConfig
from agents.models import Task
from agents.runtime.loop import task_steps_run
from agents.runtime.messages import task_conversation
from agents.services.tasks import task_submit
from tests.agents.guards.faultserver import always, running_fault_server
from tests.factories import make_agent, make_http_tool
from tracing.models import Span
from tracing.prompts import PROMPT_REF, PromptAssembler, prompt_reassemble

pytestmark = pytest.mark.django_db(transaction=True)


def sent_prompts(task: Task) -> list[list[dict]]:
    """What each step sent: the system prompt and the conversation before its reply. Valid for
    the steps after the conversation's last rewrite (all of them when none happened)."""
    system = [{"role": "system", "content": "Be brief."}]
    replies = [i for i, m in enumerate(task.messages) if m["role"] == "assistant"]
    return [system + task.messages[:i] for i in replies]


def chat_spans(task: Task) -> list[Span]:
    return list(Span.objects.filter(trace__task=task, name__startswith="chat ").order_by("step_index"))


def run_chain(requester, url: str, *, calls: int, **guards) -> Task:
    agent = make_agent(
        "chainer",
        model=f"sim/chain?calls={calls}&tool=lookup",
        fallback_model="sim/summarise",
        tools=[make_http_tool("lookup", url)],
        max_iterations=40,
    )
    if guards:
        GuardConfig.objects.create(agent=agent, **guards)
    task, _ = task_submit(owner=requester, agent_name="chainer", input="look it all up")
    task_steps_run(task_id=task.id, max_steps=100, max_seconds=120)
    task.refresh_from_db()
    return task


def test_each_step_stores_only_its_new_messages_and_the_prompt_is_reassembled(requester, use_simulator):
    with running_fault_server(always(200), pad=300) as (url, _server):
        task = run_chain(requester, url, calls=6)

    spans = chat_spans(task)
    prompts = sent_prompts(task)
    assert len(spans) == len(prompts) == 7
    assert spans[0].input == prompts[0]  # the first step has nothing to continue
    for previous, span in itertools.pairwise(spans):
        # Only the reply and tool result of the step before are stored again.
        assert span.input[PROMPT_REF] == {"span_id": previous.span_id, "messages": len(previous_prompt(span))}
        assert [m["role"] for m in span.input["messages"]] == ["assistant", "tool"]
    assert [prompt_reassemble(span) for span in spans] == prompts
    assembler = PromptAssembler()
    assert [assembler.prompt(span) for span in spans] == prompts


def previous_prompt(span: Span) -> list[dict]:
    previous = Span.objects.get(trace_id=span.trace_id, span_id=span.input[PROMPT_REF]["span_id"])
    return prompt_reassemble(previous)


def test_after_a_summary_the_prompt_is_still_reassembled_as_sent(requester, use_simulator):
    with running_fault_server(always(200), pad=2000) as (url, _server):
        task = run_chain(requester, url, calls=1000, context_max_tokens=900, keep_tool_results=1)

    assert Span.objects.filter(trace__task=task, name="context summarise").exists()
    assert task.messages[0]["content"].startswith("[Summary of the earlier conversation]")
    last = chat_spans(task)[-1]
    assert prompt_reassemble(last) == sent_prompts(task)[-1]


def test_the_trace_page_shows_the_whole_prompt(requester, use_simulator, client):
    with running_fault_server(always(200), pad=300) as (url, _server):
        task = run_chain(requester, url, calls=3)
    last = chat_spans(task)[-1]
    client.force_login(requester)

    response = client.get(reverse("console:span_payload", args=[task.id, last.pk, "input"]))

    assert response.status_code == 200
    text = response.content.decode()
    assert "look it all up" in text  # the first user message, stored only in step 0's span
    assert PROMPT_REF not in text


def test_a_sessions_next_task_continues_the_earlier_tasks_last_prompt(requester, use_simulator):
    with running_fault_server(always(200), pad=300) as (url, _server):
        first = run_chain(requester, url, calls=3)
        second, _ = task_submit(
            owner=requester, agent_name="chainer", input="and once more", session_id=first.session_id
        )
        task_steps_run(task_id=second.id, max_steps=100, max_seconds=120)
    second.refresh_from_db()

    opening = chat_spans(second)[0]
    assert opening.input[PROMPT_REF] == {
        "span_id": chat_spans(first)[-1].span_id,
        "trace_id": first.trace.trace_id,
        "messages": 1 + len(first.messages) - 1,  # the system prompt and all before its last reply
    }
    # New to it: the earlier task's final answer and this task's input.
    assert [m["content"] for m in opening.input["messages"]] == [
        "Done: called lookup 3 times.",
        "and once more",
    ]
    system = [{"role": "system", "content": "Be brief."}]
    conversation = task_conversation(second)
    replies = [i for i, m in enumerate(conversation) if m["role"] == "assistant"]
    sent = [system + conversation[:i] for i in replies[-len(chat_spans(second)) :]]
    assert [prompt_reassemble(span) for span in chat_spans(second)] == sent
    assembler = PromptAssembler()
    assert [assembler.prompt(span) for span in chat_spans(second)] == sent

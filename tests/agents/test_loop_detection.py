"""Loop detection on real PostgreSQL/pgvector, with the real simulator and the local model."""

import numpy as np
import pytest

from agents.guards.decision import Verdict
from agents.guards.loops import LoopOutputWrite, loop_guard, output_embedding_store
from agents.guards.plan import guard_context
from agents.models import OutputEmbedding, Task, Tool
from agents.runtime import loop
from agents.runtime.checkpoint import checkpoint_write
from agents.runtime.loop import RunOutcome, task_steps_run
from agents.services.tasks import task_submit
from agents.tools.python import python_tools_sync
from tests.factories import make_agent, make_http_tool
from tests.support.run_state import run_state_claimed
from tracing.models import Span

pytestmark = pytest.mark.django_db(transaction=True)


def run(user, agent_name: str, text: str = "go", session=None) -> Task:
    task, _ = task_submit(owner=user, agent_name=agent_name, input=text, session_id=session)
    task_steps_run(task_id=task.id, max_steps=60, max_seconds=60)
    task.refresh_from_db()
    return task


def search_tool(simulator_url: str):
    return make_http_tool("search_web", f"{simulator_url}/tools/search_web")


def test_a_reworded_loop_halts_before_the_fifth_step_naming_the_loop(requester, use_simulator):
    """sim/loop rewords the same wrong answer and repeats one search: with the exact check set
    out of reach, the semantic guard halts once three outputs each repeat the one before."""
    make_agent("looper", model="sim/loop", tools=[search_tool(use_simulator)], repeat_limit=50)

    task = run(requester, "looper", "What is the capital of Australia?")

    assert task.status == Task.Status.HALTED
    assert task.stop_reason == "loop_detected"
    assert task.partial is True
    assert task.result.startswith("The capital of Australia is Sydney")
    assert task.steps.count() == 4  # outputs 0-3: output 0 and three repeats of it
    span = Span.objects.get(trace__task=task, name="guardrail loop_detected")
    assert span.step_index == 4
    assert len(span.output["similarities"]) == 3
    assert all(span.output["threshold"] < s <= 1.0 for s in span.output["similarities"])
    assert span.attributes["tollgate.guardrail.verdict"] == "halt"


def test_the_same_call_with_the_same_result_three_times_halts_without_embeddings(requester, use_simulator):
    make_agent("looper", model="sim/loop", tools=[search_tool(use_simulator)])

    task = run(requester, "looper")

    assert task.status == Task.Status.HALTED
    assert task.stop_reason == "repeated_tool_call"
    assert task.steps.count() == 3
    span = Span.objects.get(trace__task=task, name="guardrail repeated_tool_call")
    assert span.output["tool"] == "search_web"
    assert span.output["count"] == 3


def test_a_paginating_run_with_near_identical_outputs_runs_to_the_end(requester, use_simulator, tool_server):
    """Every page returns new rows, so repeating the call is progress, not a loop."""
    url, server = tool_server
    make_agent("pager", model="sim/paginate", tools=[make_http_tool("list_orders", url)])

    task = run(requester, "pager")

    assert task.status == Task.Status.SUCCEEDED, task.stop_detail
    assert task.result == "Read 6 pages of orders."
    assert server.requests == 6
    assert OutputEmbedding.objects.filter(task=task).count() == 6


def test_the_same_answer_task_after_task_halts_the_session(requester, use_simulator):
    """A session whose tasks keep getting the same final answer is looping across tasks:
    each task's first guard embeds the previous task's answer."""
    make_agent("parrot", model="sim/echo")
    first = run(requester, "parrot", "The capital of Australia is Sydney.")
    statuses = [first.status]
    for _ in range(4):
        statuses.append(
            run(requester, "parrot", "The capital of Australia is Sydney.", first.session_id).status
        )

    assert statuses[:4] == [Task.Status.SUCCEEDED] * 4
    assert statuses[4] == Task.Status.HALTED
    last = Task.objects.filter(session_id=first.session_id).order_by("-created_at").first()
    assert last.stop_reason == "loop_detected"
    assert last.steps.count() == 0


def test_a_redelivered_step_stores_its_output_once(requester, use_simulator, tool_server):
    url, _ = tool_server
    make_agent("pager", model="sim/paginate", tools=[make_http_tool("list_orders", url)])
    task, _ = task_submit(owner=requester, agent_name="pager", input="go")
    task_steps_run(task_id=task.id, max_steps=2, max_seconds=60)

    state = run_state_claimed(task.id)
    assert loop_guard(state).verdict is Verdict.ALLOW
    assert loop_guard(state).verdict is Verdict.ALLOW

    assert list(
        OutputEmbedding.objects.filter(task=task).values_list("step_index", flat=True).order_by("id")
    ) == [
        0,
        1,
    ]


def test_a_checkpoint_hands_the_next_guard_what_it_would_read_itself(requester, use_simulator, monkeypatch):
    python_tools_sync()
    make_agent("echoer", model="sim/chain?calls=3&tool=echo", tools=[Tool.objects.get(name="echo")])
    handed: list[tuple[int, str, list]] = []
    stored = LoopOutputWrite.stored

    def kept(write: LoopOutputWrite, added: int, rows: list) -> None:
        stored(write, added, rows)
        handed.append(guard_context(write.state).loop_records)

    monkeypatch.setattr(LoopOutputWrite, "stored", kept)
    task = run(requester, "echoer")

    assert task.status == Task.Status.SUCCEEDED
    assert [step_index for step_index, _, _ in handed] == [0, 1, 2]
    step_index, model_name, records = handed[-1]
    assert len(records) == 3
    # Storing the last one again (a redelivery: nothing added) reads the session's outputs back.
    again = output_embedding_store(
        session_id=str(task.session_id),
        task_id=str(task.id),
        step_index=step_index,
        model_name=model_name,
        vector=[float(x) for x in records[-1].vector],
        values=sorted(records[-1].result_values),
        count=len(records) + 5,
    )
    assert OutputEmbedding.objects.filter(task=task).count() == 3
    assert [r.result_values for r in again] == [r.result_values for r in records]
    # Bit for bit: the vector the run held is the one stored (vector_literal) and read back.
    assert all(np.array_equal(a.vector, b.vector) for a, b in zip(again, records, strict=True))


def test_a_step_another_delivery_checkpointed_stores_no_embedding(requester, use_simulator, monkeypatch):
    python_tools_sync()
    make_agent("echo-once", model="sim/chain?calls=1&tool=echo", tools=[Tool.objects.get(name="echo")])
    task, _ = task_submit(owner=requester, agent_name="echo-once", input="go")

    def ahead_of_us(**kwargs: object) -> bool:
        assert kwargs["loop_output"] is not None  # a step the run goes on from
        Task.objects.filter(pk=task.pk).update(step_index=1)
        return checkpoint_write(**kwargs)

    monkeypatch.setattr(loop, "checkpoint_write", ahead_of_us)

    assert task_steps_run(task_id=task.id, max_steps=8, max_seconds=60) is RunOutcome.SKIPPED
    assert not OutputEmbedding.objects.filter(task=task).exists()

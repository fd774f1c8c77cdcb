"""The runtime loop, run in-process against the real simulator over HTTP."""

import json
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from agents.guards.models import SpendRecord
from agents.models import Step, Task, ToolDispatch
from agents.runtime import messages
from agents.runtime.loop import RunOutcome, task_steps_run
from agents.runtime.messages import task_conversation
from agents.services.tasks import task_submit
from core import clock
from tests.factories import make_agent, make_http_tool
from tests.support.races import race
from tests.support.toolserver import running_tool_server
from tracing.models import Span

pytestmark = pytest.mark.django_db(transaction=True)


def run(task: Task, *, max_steps: int = 50) -> RunOutcome:
    return task_steps_run(task_id=task.id, max_steps=max_steps, max_seconds=60)


def submit(user, agent_name: str, text: str = "go") -> Task:
    task, _ = task_submit(owner=user, agent_name=agent_name, input=text)
    return task


def test_a_tool_chain_runs_to_a_final_answer_with_every_step_checkpointed(
    requester, use_simulator, tool_server
):
    url, server = tool_server
    tool = make_http_tool("refund_tool", url)
    make_agent("chainer", model="sim/chain?calls=2&tool=refund_tool", tools=[tool])
    task = submit(requester, "chainer")

    assert run(task) is RunOutcome.FINISHED

    task.refresh_from_db()
    assert task.status == Task.Status.SUCCEEDED
    assert task.result == "Done: called refund_tool 2 times."
    assert task.stop_reason == "completed"
    assert list(task.steps.values_list("index", "status")) == [
        (0, "completed"),
        (1, "completed"),
        (2, "completed"),
    ]
    assert server.requests == 2
    assert server.side_effects == 2
    assert task.tool_calls == 2
    roles = [message["role"] for message in task.messages]
    assert roles == ["user", "assistant", "tool", "assistant", "tool", "assistant"]


def test_usage_and_cost_roll_up_from_the_model_spans(requester, use_simulator, tool_server):
    url, _ = tool_server
    make_agent(
        "chainer", model="sim/chain?calls=1&tool=refund_tool", tools=[make_http_tool("refund_tool", url)]
    )
    task = submit(requester, "chainer")
    run(task)

    task.refresh_from_db()
    model_spans = list(Span.objects.filter(trace__task=task, kind="model"))
    assert len(model_spans) == 2
    assert task.input_tokens == sum(s.attributes["gen_ai.usage.input_tokens"] for s in model_spans) > 0
    assert task.output_tokens == sum(s.attributes["gen_ai.usage.output_tokens"] for s in model_spans) > 0
    assert task.cost_usd == sum(Decimal(s.attributes["tollgate.cost_usd"]) for s in model_spans)
    assert task.cost_usd > 0
    first = model_spans[0]
    assert first.name == "chat chain?calls=1&tool=refund_tool"
    assert first.attributes["gen_ai.operation.name"] == "chat"
    assert first.attributes["gen_ai.provider.name"] == "simulator"
    assert first.attributes["gen_ai.conversation.id"] == str(task.session_id)
    assert first.input[0] == {"role": "system", "content": "Be brief."}
    tool_span = Span.objects.get(trace__task=task, kind="tool")
    assert tool_span.attributes["gen_ai.tool.name"] == "refund_tool"
    assert tool_span.output["status"] == "success"
    root = Span.objects.get(trace__task=task, kind="agent")
    assert root.name == "invoke_agent chainer"
    assert root.parent_span_id == ""
    assert {s.parent_span_id for s in model_spans} == {root.span_id}


def root_span_of(task: Task) -> Span:
    """The task's root span, checked to report the task's row as it ended."""
    task.refresh_from_db()
    root = Span.objects.get(trace__task=task, kind="agent")
    assert root.attributes["gen_ai.usage.input_tokens"] == task.input_tokens
    assert root.attributes["gen_ai.usage.output_tokens"] == task.output_tokens
    assert root.attributes["gen_ai.usage.cache_read.input_tokens"] == task.cached_input_tokens
    assert Decimal(root.attributes["tollgate.cost_usd"]) == task.cost_usd
    assert root.attributes["tollgate.task.status"] == task.status
    assert root.attributes["tollgate.stop_reason"] == task.stop_reason
    assert root.started_at == task.started_at
    return root


def test_the_root_span_reports_the_steps_of_every_run_of_the_task(requester, use_simulator, tool_server):
    url, _ = tool_server
    make_agent(
        "chainer", model="sim/chain?calls=3&tool=refund_tool", tools=[make_http_tool("refund_tool", url)]
    )
    task = submit(requester, "chainer")
    outcomes = [run(task, max_steps=1) for _ in range(4)]

    assert outcomes == [RunOutcome.YIELDED] * 3 + [RunOutcome.FINISHED]
    root = root_span_of(task)
    model_spans = Span.objects.filter(trace__task=task, kind="model")
    assert root.attributes["gen_ai.usage.input_tokens"] == sum(
        s.attributes["gen_ai.usage.input_tokens"] for s in model_spans
    )
    assert task.input_tokens > 0
    assert task.cost_usd > 0
    assert root.attributes["tollgate.stop_reason"] == "completed"


def test_a_run_past_its_seconds_goes_on_while_no_other_run_waits(requester, use_simulator, tool_server):
    url, _ = tool_server
    make_agent(
        "chainer", model="sim/chain?calls=3&tool=refund_tool", tools=[make_http_tool("refund_tool", url)]
    )
    task = submit(requester, "chainer")
    asked: list[int] = []

    def nobody_waits() -> bool:
        asked.append(1)
        return False

    # max_seconds=0: the run's share of the worker is over before its first step ends.
    outcome = task_steps_run(task_id=task.id, max_steps=50, max_seconds=0, others_waiting=nobody_waits)

    assert outcome is RunOutcome.FINISHED
    task.refresh_from_db()
    assert task.status == Task.Status.SUCCEEDED
    assert len(asked) == 3  # after each step but the last, which ends the task
    assert Step.objects.filter(task=task).count() == 4


def test_a_run_past_its_seconds_yields_after_its_step_when_another_run_waits(
    requester, use_simulator, tool_server
):
    url, _ = tool_server
    make_agent(
        "chainer", model="sim/chain?calls=3&tool=refund_tool", tools=[make_http_tool("refund_tool", url)]
    )
    task = submit(requester, "chainer")

    outcome = task_steps_run(task_id=task.id, max_steps=50, max_seconds=0, others_waiting=lambda: True)

    assert outcome is RunOutcome.YIELDED
    task.refresh_from_db()
    assert (task.status, task.step_index, task.lease_owner) == (Task.Status.RUNNING, 1, None)
    assert run(task) is RunOutcome.FINISHED  # the next run carries on from the checkpoint
    assert Step.objects.filter(task=task).count() == 4


def test_max_iterations_halts_with_the_best_answer_so_far(requester, use_simulator, tool_server):
    url, server = tool_server
    make_agent(
        "long-chain",
        model="sim/chain?calls=10&tool=refund_tool",
        tools=[make_http_tool("refund_tool", url)],
        max_iterations=3,
    )
    task = submit(requester, "long-chain")
    run(task)

    task.refresh_from_db()
    assert task.status == Task.Status.HALTED
    assert task.stop_reason == "max_iterations"
    assert task.partial is True
    assert task.steps.count() == 3
    assert server.requests == 3
    guard = Span.objects.get(trace__task=task, kind="guardrail")
    assert guard.name == "guardrail max_iterations"
    assert guard.attributes["tollgate.guardrail.verdict"] == "halt"
    root = root_span_of(task)
    assert root.status == "error"
    assert root.attributes["tollgate.stop_reason"] == "max_iterations"
    assert task.input_tokens > 0


def test_a_cancelled_task_stops_at_the_next_step_boundary(requester, use_simulator, tool_server):
    url, server = tool_server
    make_agent(
        "chainer", model="sim/chain?calls=5&tool=refund_tool", tools=[make_http_tool("refund_tool", url)]
    )
    task = submit(requester, "chainer")
    assert run(task, max_steps=2) is RunOutcome.YIELDED
    Task.objects.filter(pk=task.pk).update(cancel_requested=True)

    assert run(task) is RunOutcome.FINISHED

    task.refresh_from_db()
    assert task.status == Task.Status.CANCELLED
    assert task.steps.count() == 2
    assert server.requests == 2
    # Its root span, written by the second run, reports the first run's steps.
    assert root_span_of(task).attributes["gen_ai.usage.input_tokens"] > 0


def test_a_model_naming_an_unknown_tool_gets_a_structured_error_and_carries_on(requester, use_simulator):
    make_agent("confused", model="sim/chain?calls=1&tool=no_such_tool")
    task = submit(requester, "confused")
    run(task)

    task.refresh_from_db()
    assert task.status == Task.Status.SUCCEEDED
    tool_reply = json.loads(task.messages[2]["content"])
    assert tool_reply["status"] == "error"
    assert tool_reply["error_type"] == "permanent"
    assert "no_such_tool" in tool_reply["message"]


def test_a_model_that_keeps_failing_fails_the_task_with_its_reason(requester, use_simulator):
    make_agent("down", model="sim/model_down")
    task = submit(requester, "down")
    run(task)

    task.refresh_from_db()
    assert task.status == Task.Status.FAILED
    assert task.stop_reason == "model_error"
    assert "transient" in task.stop_detail
    errors = Span.objects.filter(trace__task=task, kind="model", status="error")
    assert errors.count() == 3
    assert {s.attributes["http.response.status_code"] for s in errors} == {500}
    assert root_span_of(task).attributes["tollgate.stop_reason"] == "model_error"


def test_the_next_task_in_a_session_sees_the_earlier_conversation(requester, use_simulator):
    make_agent("echoer", model="sim/echo")
    first = submit(requester, "echoer", "my name is Ada")
    run(first)
    second, _ = task_submit(
        owner=requester, agent_name="echoer", input="what is my name?", session_id=first.session_id
    )
    run(second)

    second.refresh_from_db()
    contents = [m["content"] for m in task_conversation(second)]
    assert contents == ["my name is Ada", "my name is Ada", "what is my name?", "what is my name?"]
    # Referred to, not copied: the second task stores only its own messages.
    assert (second.history_task_id, second.history_messages) == (first.id, 2)
    assert [m["content"] for m in second.messages] == ["what is my name?", "what is my name?"]


def test_only_a_session_with_an_earlier_task_has_its_conversation_looked_up(
    requester, use_simulator, monkeypatch
):
    """The load says whether the session has any other task: its first task skips the lookup."""
    looked_up: list[Task] = []
    lookup = messages._previous_task

    def counted(task: Task) -> Task | None:
        looked_up.append(task)
        return lookup(task)

    monkeypatch.setattr(messages, "_previous_task", counted)
    make_agent("echoer", model="sim/echo")
    first = submit(requester, "echoer", "one")
    run(first)
    assert looked_up == []
    second, _ = task_submit(owner=requester, agent_name="echoer", input="two", session_id=first.session_id)
    run(second)

    assert [task.pk for task in looked_up] == [second.pk]
    second.refresh_from_db()
    assert second.history_task_id == first.id


def test_a_third_task_sees_both_earlier_ones_through_the_references(requester, use_simulator):
    make_agent("echoer", model="sim/echo")
    first = submit(requester, "echoer", "one")
    run(first)
    tasks = [first]
    for text in ("two", "three"):
        task, _ = task_submit(owner=requester, agent_name="echoer", input=text, session_id=first.session_id)
        run(task)
        tasks.append(task)

    third = Task.objects.get(pk=tasks[-1].pk)
    assert [m["content"] for m in task_conversation(third)] == ["one", "one", "two", "two", "three", "three"]
    assert third.history_task_id == tasks[1].id
    assert len(third.messages) == 2


def test_two_deliveries_racing_for_one_task_run_each_step_once(requester, use_simulator, tool_server):
    url, server = tool_server
    make_agent(
        "chainer", model="sim/chain?calls=3&tool=refund_tool", tools=[make_http_tool("refund_tool", url)]
    )
    task = submit(requester, "chainer")
    # Settled at the lease claim: the loser never starts the step (the step-level duplicate
    # paths are the next test's).
    outcomes = race(lambda: run(task), lambda: run(task), expected=())

    assert sorted(o.value for o in outcomes) == ["finished", "skipped"]
    assert server.side_effects == 3
    assert Step.objects.filter(task=task).count() == 4
    task.refresh_from_db()
    assert task.status == Task.Status.SUCCEEDED


def undo_first_checkpoint(task: Task) -> None:
    """Undo step 0's checkpoint, as if its transaction never committed: what stays is the
    reply stored before the tool ran, and the tool's own record of the call."""
    Task.objects.filter(pk=task.pk).update(
        step_index=0,
        messages=[{"role": "user", "content": "go"}],
        tool_calls=0,
        input_tokens=0,
        output_tokens=0,
        cost_usd=0,
    )
    Step.objects.filter(task=task, index=0).update(
        status=Step.Status.MODEL_DONE, tool_results=[], finished_at=None
    )
    Span.objects.filter(trace__task=task).delete()


def test_a_redelivered_step_replays_the_stored_answer_of_a_tool_that_ignores_keys(requester, use_simulator):
    """The call to a tool that must not see it twice was answered before the worker died: the
    replay tells the model the stored answer and sends nothing."""
    with running_tool_server(deduplicate=False) as (url, server):
        make_agent(
            "chainer", model="sim/chain?calls=1&tool=refund_tool", tools=[make_http_tool("refund_tool", url)]
        )
        task = submit(requester, "chainer")
        run(task, max_steps=1)
        undo_first_checkpoint(task)
        run(task)

    task.refresh_from_db()
    assert task.status == Task.Status.SUCCEEDED
    assert server.requests == 1
    assert ToolDispatch.objects.get(task=task).status == ToolDispatch.Status.ANSWERED
    [told] = [json.loads(m["content"]) for m in task.messages if m["role"] == "tool"]
    assert told["data"] == {"amount": None, "refund_id": "r1"}


def test_a_redelivered_step_reuses_the_stored_reply_and_repeats_no_side_effect(
    requester, use_simulator, tool_server
):
    """A worker died after the model answered and the tool ran, before the checkpoint."""
    url, server = tool_server
    tool = make_http_tool("refund_tool", url, honours_idempotency_key=True)
    make_agent("chainer", model="sim/chain?calls=1&tool=refund_tool", tools=[tool])
    task = submit(requester, "chainer")
    run(task, max_steps=1)
    undo_first_checkpoint(task)

    run(task)

    task.refresh_from_db()
    assert task.status == Task.Status.SUCCEEDED
    assert server.requests == 2  # the replay reached the tool with the same key...
    assert server.side_effects == 1  # ...which applied it once
    assert len(set(server.keys_seen)) == 1
    assert [m["role"] for m in task.messages] == ["user", "assistant", "tool", "assistant"]
    assert task.tool_calls == 1
    # Step 0's model call was not repeated: its span was rebuilt from the stored reply.
    step_zero = Span.objects.get(trace__task=task, kind="model", step_index=0)
    assert (
        step_zero.attributes["gen_ai.usage.input_tokens"] == Step.objects.get(task=task, index=0).input_tokens
    )
    assert Span.objects.filter(trace__task=task, kind="model").count() == 2


class HeldAfterAnswer:
    """The real provider; its answer is held back until `release` is set (a stalled worker)."""

    def __init__(self, provider, answered: threading.Event, release: threading.Event) -> None:
        self._provider, self._answered, self._release = provider, answered, release
        self.name = provider.name

    def complete(self, request):
        response = self._provider.complete(request)
        self._answered.set()
        assert self._release.wait(30)
        return response


def test_a_stalled_delivery_overtaken_by_another_follows_its_step_and_sends_nothing(
    requester, use_simulator, monkeypatch, caplog
):
    """Two runs past the lease claim: A stalls in its model call past its lease, B takes the
    task over and commits step 0. A then reaches the step-level duplicate paths: the step's
    stored reply (unique (task, index)), the call's dispatch mark, and the checkpoint."""
    from agents.runtime import step as step_module

    with running_tool_server(deduplicate=False) as (url, server):
        make_agent(
            "chainer", model="sim/chain?calls=1&tool=refund_tool", tools=[make_http_tool("refund_tool", url)]
        )
        task = submit(requester, "chainer")
        answered, release = threading.Event(), threading.Event()
        stalled = threading.current_thread()  # replaced by A's thread below
        real_provider_for = step_module.provider_for

        def provider_for(model: str):
            provider, name = real_provider_for(model)
            if threading.current_thread() is stalled:
                return HeldAfterAnswer(provider, answered, release), name
            return provider, name

        monkeypatch.setattr(step_module, "provider_for", provider_for)
        outcomes: dict[str, RunOutcome] = {}

        def deliver_a() -> None:
            try:
                outcomes["a"] = task_steps_run(task_id=task.id, max_steps=1, max_seconds=60)
            finally:
                connection.close()

        a = threading.Thread(target=deliver_a)
        stalled = a
        a.start()
        try:
            assert answered.wait(30)
            # A's worker stalled past its lease (its heartbeat stopped too): B takes the task over.
            Task.objects.filter(pk=task.pk).update(lease_until=clock.now() - timedelta(seconds=1))
            outcomes["b"] = task_steps_run(task_id=task.id, max_steps=1, max_seconds=60)
        finally:
            release.set()
            a.join(60)

        assert outcomes == {"a": RunOutcome.SKIPPED, "b": RunOutcome.YIELDED}
        assert "a duplicate delivery stored its reply first" in caplog.text
        assert "a duplicate delivery is ahead of this one" in caplog.text
        assert server.requests == 1  # A's tool call found B's answer and was not sent
        assert Step.objects.filter(task=task, index=0).count() == 1
        assert Task.objects.get(pk=task.pk).step_index == 1
        # Both model calls were made and billed: each is in the ledger once, A's too.
        assert SpendRecord.objects.filter(task_id=task.id).count() == 2

        assert run(task) is RunOutcome.FINISHED
    task.refresh_from_db()
    assert task.status == Task.Status.SUCCEEDED
    assert server.requests == 1


def test_a_run_whose_lease_passed_does_not_end_the_task_it_no_longer_holds(
    requester, use_simulator, monkeypatch
):
    """A run stalls past its lease, another run takes the task over, and then the first run's
    guard halts: the halt must not end the task under the new holder."""
    import uuid

    from agents.guards.decision import Decision, Verdict
    from agents.runtime import loop

    make_agent("stalled", model="sim/echo")
    task = submit(requester, "stalled")
    thief = uuid.uuid4()

    def halt_after_takeover(state, spans):  # type: ignore[no-untyped-def]
        Task.objects.filter(pk=state.task.pk).update(lease_owner=thief)  # another run's claim
        return Decision(Verdict.HALT, guard="token_budget", reason="over budget")

    monkeypatch.setattr(loop, "guards_before_model_call", halt_after_takeover)

    assert run(task) is RunOutcome.SKIPPED

    task.refresh_from_db()
    assert task.status == Task.Status.RUNNING
    assert task.lease_owner == thief
    assert task.finished_at is None
    assert task.stop_reason == ""

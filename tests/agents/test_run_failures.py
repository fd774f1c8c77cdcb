"""A run that dies on an unexpected error: retried a bounded number of times, then the task fails.

No task stays `running` forever, and no cost reservation outlives the run that made it.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from agents.guards.spend import scope_usage
from agents.guards.store import guard_key
from agents.models import ModelPrice, Task
from agents.providers.openai import OpenAIProvider
from agents.providers.pricing import price_table_reset
from agents.runtime.loop import RunOutcome, task_steps_run
from agents.services.tasks import task_submit
from core import clock
from tests.factories import make_agent
from tracing.models import Span, Trace

pytestmark = pytest.mark.django_db(transaction=True)


def run(task: Task) -> RunOutcome:
    return task_steps_run(task_id=task.id, max_steps=10, max_seconds=60)


def run_after_backoff(task: Task) -> RunOutcome:
    """The retry waits on the lease (the sweeper re-sends it once the lease has passed)."""
    task.refresh_from_db()
    with time_machine.travel(task.lease_until + timedelta(seconds=1), tick=False):
        return run(task)


def test_a_model_name_no_provider_serves_fails_the_task_after_three_runs(requester, settings):
    settings.TASK_MAX_RUN_FAILURES = 3
    settings.TASK_RETRY_BASE_S = 2
    make_agent("misrouted", model="nowhere/model-x")
    # Priced, so that the run gets past the cost guard to the provider lookup, which fails.
    ModelPrice.objects.create(
        model="nowhere/*",
        input_usd_per_mtok=Decimal(1),
        output_usd_per_mtok=Decimal(1),
        valid_from=datetime(2020, 1, 1, tzinfo=UTC),
    )
    price_table_reset()
    task, _ = task_submit(owner=requester, agent_name="misrouted", input="hi")

    assert run(task) is RunOutcome.RETRYING
    task.refresh_from_db()
    assert (task.status, task.run_failures, task.lease_owner) == (Task.Status.RUNNING, 1, None)
    assert "ValueError" in task.stop_detail
    # Not before its backoff: the lease holds the retry back.
    assert task.lease_until > clock.now() + timedelta(seconds=1)
    assert run(task) is RunOutcome.SKIPPED

    assert run_after_backoff(task) is RunOutcome.RETRYING
    task.refresh_from_db()
    assert task.run_failures == 2
    assert run_after_backoff(task) is RunOutcome.FINISHED

    task.refresh_from_db()
    assert task.status == Task.Status.FAILED
    assert task.stop_reason == "runtime_error"
    assert "the run failed 3 times" in task.stop_detail
    assert "nowhere/model-x" in task.stop_detail
    assert (task.lease_until, task.lease_owner, task.run_failures) == (None, None, 3)
    assert task.finished_at is not None
    # The trace is closed like any ended task's: its root span says failed.
    root = task.trace.spans.get(kind="agent")
    assert root.status == Span.Status.ERROR
    assert root.attributes["tollgate.task.status"] == "failed"


def test_a_provider_error_type_nobody_listed_releases_the_cost_reservation(
    requester, use_simulator, settings, monkeypatch
):
    settings.TASK_MAX_RUN_FAILURES = 1
    make_agent("broken", model="sim/echo", max_cost_usd=Decimal("5"))
    task, _ = task_submit(owner=requester, agent_name="broken", input="hi")
    session_scope = guard_key("cost", "session", task.session_id)
    reserved_during_call: list[Decimal] = []

    def broken(self, request):
        reserved_during_call.append(scope_usage(session_scope)[1])
        raise KeyError("choices")  # a provider answer nobody mapped to a ProviderError

    monkeypatch.setattr(OpenAIProvider, "complete", broken)

    assert run(task) is RunOutcome.FINISHED

    task.refresh_from_db()
    assert task.status == Task.Status.FAILED
    assert "KeyError" in task.stop_detail
    # The step's worst-case reservation was made before the call and is back in full.
    assert reserved_during_call[0] > 0
    assert scope_usage(session_scope) == (Decimal(0), Decimal(0))


def test_a_task_that_recovers_before_its_last_attempt_succeeds(
    requester, use_simulator, settings, monkeypatch
):
    settings.TASK_MAX_RUN_FAILURES = 3
    real = OpenAIProvider.complete
    failures = iter([RuntimeError("a provider hiccup nobody expected")])

    def flaky(self, request):
        error = next(failures, None)
        if error is not None:
            raise error
        return real(self, request)

    monkeypatch.setattr(OpenAIProvider, "complete", flaky)
    make_agent("echoer", model="sim/echo")
    task, _ = task_submit(owner=requester, agent_name="echoer", input="hello")

    assert run(task) is RunOutcome.RETRYING
    assert run_after_backoff(task) is RunOutcome.FINISHED

    task.refresh_from_db()
    assert (task.status, task.result, task.run_failures) == (Task.Status.SUCCEEDED, "hello", 1)


def test_a_claimed_task_that_cannot_be_loaded_counts_a_failed_run(requester):
    """The claim and the load are one statement: a task it claims but cannot load whole (here,
    its trace is gone) comes back as a failed run, retried and then failed, not as a task
    another run holds, which would leave it claimed by nobody until its lease passed, again
    and again."""
    make_agent("traceless", model="sim/echo")
    task, _ = task_submit(owner=requester, agent_name="traceless", input="hi")
    Trace.objects.filter(task=task).delete()

    assert run(task) is RunOutcome.RETRYING
    task.refresh_from_db()
    assert (task.status, task.run_failures, task.lease_owner) == (Task.Status.RUNNING, 1, None)
    assert "trace" in task.stop_detail

"""Tool retries, circuit breakers and rate limits, against local tool servers that fail on purpose."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from agents.guards import retries
from agents.guards.breakers import ToolLimits, breaker_admit, breaker_record, breaker_states
from agents.guards.models import GuardConfig, ToolGuard
from agents.guards.ratelimits import rate_take
from agents.models import Task
from agents.runtime.loop import task_steps_run
from agents.services.tasks import task_submit
from tests.agents.guards.faultserver import always, every_other_fails, first_fails, running_fault_server
from tests.factories import make_agent, make_http_tool
from tests.support.races import race
from tracing.models import Span

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """The backoff waits the guard asked for, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(retries, "_sleep", waited.append)
    return waited


def run_chain(
    user, url: str, *, calls: int, retry_budget: int, honours_key: bool = True, **tool_guard
) -> Task:
    # A POST is retried only to a tool that deduplicates by Idempotency-Key.
    tool = make_http_tool("flaky", url, honours_idempotency_key=honours_key)
    if tool_guard:
        ToolGuard.objects.create(tool=tool, **tool_guard)
    agent = make_agent("worker", model=f"sim/chain?calls={calls}&tool=flaky", tools=[tool])
    GuardConfig.objects.create(agent=agent, retry_budget=retry_budget)
    task, _ = task_submit(owner=user, agent_name="worker", input="go")
    task_steps_run(task_id=task.id, max_steps=100, max_seconds=120)
    task.refresh_from_db()
    return task


def tool_results(task: Task) -> list[dict]:
    return [json.loads(m["content"]) for m in task.messages if m["role"] == "tool"]


def test_a_429_storm_stays_within_the_retry_budget_and_opens_the_breaker(requester, use_simulator, sleeps):
    with running_fault_server(always(429, Retry_After="0")) as (url, server):
        task = run_chain(requester, url, calls=20, retry_budget=6, breaker_failures=5, breaker_cooldown_s=600)

    # Counted at the tool's server: the first call, then retries until five failures in a row
    # opened the breaker; the other 19 calls the model made failed fast without a request.
    assert server.requests <= 6
    assert server.requests == 5
    assert breaker_states(tool_names=["flaky"])["flaky"]["state"] == "open"
    results = tool_results(task)
    assert len(results) == 20
    assert results[0]["error_type"] == "rate_limit"
    assert all(r["status"] == "error" and r["data"] == {"circuit_breaker": "open"} for r in results[1:])
    assert "Traceback" not in json.dumps(task.messages)
    assert task.status == Task.Status.SUCCEEDED
    assert Span.objects.filter(trace__task=task, name="guardrail tool_retry").count() == 4
    assert Span.objects.filter(trace__task=task, name="guardrail tool_breaker").count() == 19


@pytest.mark.parametrize("status", [503, 429])
def test_a_post_to_a_tool_that_ignores_idempotency_keys_is_never_retried(
    requester, use_simulator, sleeps, status
):
    with running_fault_server(first_fails(status, Retry_After="0")) as (url, server):
        task = run_chain(requester, url, calls=1, retry_budget=6, honours_key=False)

    assert server.requests == 1  # counted at the tool: the failed POST was not sent again
    assert sleeps == []
    [result] = tool_results(task)
    assert result["status"] == "error"
    assert result["retry_safe"] is False


def test_a_50_percent_fault_rate_stays_bounded(requester, use_simulator, sleeps):
    with running_fault_server(every_other_fails(503)) as (url, server):
        task = run_chain(requester, url, calls=10, retry_budget=5, breaker_failures=5)

    assert server.requests <= 10 + 5, (task.stop_reason, task.stop_detail)
    assert len(sleeps) <= 5
    assert task.status == Task.Status.SUCCEEDED, (task.stop_reason, task.stop_detail)
    assert sum(r["status"] == "success" for r in tool_results(task)) >= 5


def test_retries_wait_at_least_as_long_as_retry_after(requester, use_simulator, sleeps):
    with running_fault_server(first_fails(503, 2, Retry_After="2")) as (url, server):
        task = run_chain(requester, url, calls=1, retry_budget=5)

    assert server.requests == 3
    assert len(sleeps) == 2
    assert min(sleeps) >= 2.0
    assert tool_results(task)[0]["status"] == "success"


def test_a_retry_after_longer_than_the_longest_wait_is_not_retried(
    requester, use_simulator, sleeps, settings
):
    settings.GUARD_RETRY_MAX_S = 10
    with running_fault_server(always(503, Retry_After="3600")) as (url, server):
        task = run_chain(requester, url, calls=1, retry_budget=5)

    assert server.requests == 1
    assert sleeps == []
    assert "not retried" in tool_results(task)[0]["message"]


def test_permanent_errors_are_never_retried(requester, use_simulator, sleeps):
    with running_fault_server(always(400)) as (url, server):
        task = run_chain(requester, url, calls=3, retry_budget=5)

    assert server.requests == 3
    assert sleeps == []
    assert {r["error_type"] for r in tool_results(task)} == {"permanent"}
    assert breaker_states(tool_names=["flaky"])["flaky"]["state"] == "closed"


def test_the_per_tool_rate_limit_is_shared_and_refuses_past_its_window(requester, use_simulator, sleeps):
    # Frozen at the start of a minute: the window's end is 60 s away, past the longest wait.
    with (
        time_machine.travel(datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC), tick=False),
        running_fault_server(always(200)) as (url, server),
    ):
        task = run_chain(requester, url, calls=4, retry_budget=5, requests_per_minute=2)

    assert server.requests == 2
    results = tool_results(task)
    assert [r["status"] for r in results] == ["success", "success", "error", "error"]
    assert results[2]["error_type"] == "rate_limit"


LIMITS = ToolLimits(
    requests_per_minute=100, breaker_failures=2, breaker_error_rate=0.5, breaker_cooldown_s=30
)


def test_after_the_cool_down_exactly_one_probe_goes_through(db):
    tool = make_http_tool("probe_me", "http://127.0.0.1:9/")
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        breaker_record(tool=tool, limits=LIMITS, failed=True)
        assert breaker_record(tool=tool, limits=LIMITS, failed=True) == "open"
        assert breaker_admit(tool=tool, limits=LIMITS)[0] is False

    with time_machine.travel(start + timedelta(seconds=31), tick=False):
        admitted = race(*[lambda: breaker_admit(tool=tool, limits=LIMITS)[0]] * 10, expected=())
        assert admitted.count(True) == 1
        assert breaker_states(tool_names=["probe_me"])["probe_me"]["state"] == "half_open"

        assert breaker_record(tool=tool, limits=LIMITS, failed=False) == "closed"
        assert breaker_admit(tool=tool, limits=LIMITS)[0] is True


def test_a_failed_probe_opens_the_breaker_again(db):
    tool = make_http_tool("probe_me", "http://127.0.0.1:9/")
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        breaker_record(tool=tool, limits=LIMITS, failed=True)
        breaker_record(tool=tool, limits=LIMITS, failed=True)
    with time_machine.travel(start + timedelta(seconds=31), tick=False):
        assert breaker_admit(tool=tool, limits=LIMITS)[0] is True
        assert breaker_record(tool=tool, limits=LIMITS, failed=True) == "open"
        admitted, state, wait_s, rate_wait_s = breaker_admit(tool=tool, limits=LIMITS)
    assert (admitted, state, wait_s, rate_wait_s) == (False, "open", 30.0, 0.0)


def test_the_error_rate_over_the_window_opens_the_breaker(db, settings):
    settings.GUARD_BREAKER_MIN_CALLS = 10
    tool = make_http_tool("sometimes", "http://127.0.0.1:9/")
    limits = ToolLimits(
        requests_per_minute=100, breaker_failures=100, breaker_error_rate=0.5, breaker_cooldown_s=30
    )
    states = [breaker_record(tool=tool, limits=limits, failed=n % 3 != 0) for n in range(12)]

    # Never five failures in a row, but two in three fail: open once ten calls are in.
    assert states[:9] == ["closed"] * 9
    assert states[-1] == "open"


def test_provider_rate_limit_windows_are_shared(db):
    with time_machine.travel(datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC), tick=False):
        taken = [rate_take(name="provider:sim", per_minute=3) for _ in range(4)]
    assert taken == [0, 0, 0, 30.0]

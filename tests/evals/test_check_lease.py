"""A case's checks run at most once at a time: a run claims the case with a lease long enough
for its judges, other deliveries and the sweeper leave it alone while that lease is live, and
when a lease passes under a slow judge, one run records the outcome and every judge call's
cost is still counted. Runs race for real: threads on their own connections, a real
simulator judge behind a counting provider."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from agents.guards.models import SpendRecord
from agents.models import Task
from agents.providers.base import ChatProvider, ChatRequest, ChatResponse
from agents.providers.registry import provider_for
from core import clock
from evals.checks.run import checks_run
from evals.models import EvalCaseResult, EvalRun
from evals.services.check_lease import CHECK_LEASE_MARGIN_S, check_claim, check_lease, check_release
from evals.services.runs import eval_case_check, eval_cases_sweep, eval_run_start
from evals.services.suites import case_create, suite_create
from tests.agents.guards.conftest import guard_prefix  # noqa: F401 - autouse: counters of this test's own
from tests.factories import make_agent
from tests.support.races import race

pytestmark = pytest.mark.django_db(transaction=True)


class CountingJudge:
    """The simulator's judge, counting the calls sent to it. With `hold`, the first call waits
    for `release` before it is sent: a judge as slow as the test needs."""

    def __init__(self, *, hold: bool = False) -> None:
        self.real: ChatProvider = provider_for("sim/judge")[0]
        self.name = self.real.name
        self.calls = 0
        self._lock = threading.Lock()
        self.first_out = threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def complete(self, request: ChatRequest) -> ChatResponse:
        with self._lock:
            self.calls += 1
            first = self.calls == 1
        if first:
            self.first_out.set()
            assert self.release.wait(timeout=30), "the test never released the first judge call"
        return self.real.complete(request)


@pytest.fixture
def judge(monkeypatch, use_simulator):
    def install(*, hold: bool = False) -> CountingJudge:
        provider = CountingJudge(hold=hold)
        monkeypatch.setattr(
            "evals.checks.judge.provider_for", lambda model: (provider, model.split("/", 1)[1])
        )
        return provider

    return install


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """The case_check messages sent (their task ids), instead of sending them."""
    messages: list[str] = []
    monkeypatch.setattr("evals.tasks.case_check.delay", messages.append)
    return messages


def judged_case(admin, *, model: str = "sim/judge") -> EvalCaseResult:
    """A run of one case with a judge, its task ended a minute ago and not checked yet."""
    make_agent("support", model="sim/echo")
    suite = suite_create(actor=admin, agent_name="support", name="s")
    rubric = "The answer says hello."
    case_create(
        actor=admin,
        suite_id=suite.pk,
        name="judged",
        input="hello",
        checks=[{"kind": "judge", "rubric": rubric, "model": model}],
    )
    run = eval_run_start(suite=suite, agent_version=suite.agent.current_version, by=admin)
    result = run.results.get()
    ended = clock.now() - timedelta(minutes=1)
    Task.objects.filter(pk=result.task_id).update(
        status=Task.Status.SUCCEEDED, result="hello", started_at=ended, finished_at=ended
    )
    return EvalCaseResult.objects.get(pk=result.pk)


def judge_records() -> list[SpendRecord]:
    return list(SpendRecord.objects.filter(reservation__startswith="judge:"))


def test_two_deliveries_of_one_check_call_its_slow_judge_once_and_record_once(admin, judge):
    # The simulator takes 400 ms to answer: both runs are under way before either could record.
    result = judged_case(admin, model="sim/judge?latency_ms=400")
    counting = judge()

    outcomes = race(*[lambda: eval_case_check(task_id=result.task_id)] * 2)

    assert sorted(outcomes, key=str) == [None, "passed"]
    assert counting.calls == 1
    [record] = judge_records()
    result.refresh_from_db()
    assert result.status == "passed"
    assert result.judge_cost_usd == record.cost_usd > 0
    run = EvalRun.objects.get(pk=result.run_id)
    assert (run.status, run.cases_passed, run.cost_usd) == ("passed", 1, result.cost_usd)


def test_a_run_whose_lease_passed_under_a_slow_judge_records_nothing_but_its_cost(admin, judge):
    result = judged_case(admin)
    counting = judge(hold=True)
    late: list[str | None] = []

    def first_run() -> None:
        try:
            late.append(eval_case_check(task_id=result.task_id))
        finally:
            connection.close()

    first = threading.Thread(target=first_run)
    first.start()
    try:
        assert counting.first_out.wait(timeout=30)
        # The first run's judge is still out when its lease passes: a second run takes over.
        with time_machine.travel(clock.now() + check_lease(result.check_specs) + timedelta(seconds=1)):
            assert eval_case_check(task_id=result.task_id) == "passed"
    finally:
        counting.release.set()
        first.join(timeout=60)

    assert late == [None]  # the first run came back to a recorded case
    assert counting.calls == 2
    records = judge_records()
    assert len(records) == 2
    spent = sum((record.cost_usd for record in records), Decimal(0))
    result.refresh_from_db()
    assert result.status == "passed"
    assert len(result.checks) == 1
    # Both calls were paid for: both count on the case and the run, once each.
    assert result.judge_cost_usd == result.cost_usd == spent
    run = EvalRun.objects.get(pk=result.run_id)
    assert (run.status, run.cases_passed, run.cases_failed, run.cases_errored) == ("passed", 1, 0, 0)
    assert (run.cost_usd, run.input_tokens, run.output_tokens) == (
        spent,
        result.input_tokens,
        result.output_tokens,
    )
    assert result.input_tokens > 0


def test_the_sweeper_leaves_a_claimed_case_alone_until_its_lease_passes_then_resends_it_once(
    admin, judge, sent
):
    result = judged_case(admin)
    counting = judge()
    assert check_claim(result)  # a run of its checks holds it (still out on its judge, or dead)
    assert not check_claim(result)  # and no other run can take it
    lease = check_lease(result.check_specs)
    claimed_at = clock.now()

    assert eval_cases_sweep() == 0
    with time_machine.travel(claimed_at + lease - timedelta(seconds=1)):
        assert eval_cases_sweep() == 0
    assert sent == []

    with time_machine.travel(claimed_at + lease + timedelta(seconds=1)):
        assert eval_cases_sweep() == 1
        assert sent == [str(result.task_id)]
        # The re-sent message is awaited: the next sweeps do not send it again ...
        assert eval_cases_sweep() == 0
        assert sent == [str(result.task_id)]
        # ... and its run, when it comes, claims the case at once.
        assert eval_case_check(task_id=result.task_id) == "passed"
    assert counting.calls == 1

    with time_machine.travel(claimed_at + 3 * lease):
        assert eval_cases_sweep() == 0
    assert sent == [str(result.task_id)]


def test_a_resent_message_that_is_lost_again_is_resent_once_its_hold_passes(admin, use_simulator, sent):
    result = judged_case(admin)
    lease = check_lease(result.check_specs)
    start = clock.now()

    assert eval_cases_sweep() == 1  # never claimed: its message was lost
    with time_machine.travel(start + lease - timedelta(seconds=1)):
        assert eval_cases_sweep() == 0
    with time_machine.travel(start + lease + timedelta(seconds=1)):
        assert eval_cases_sweep() == 1

    assert sent == [str(result.task_id)] * 2
    result.refresh_from_db()
    assert result.status == "pending"


@pytest.mark.django_db(transaction=False)
def test_the_lease_covers_every_judge_of_the_case_one_after_another(settings):
    settings.GUARD_RESERVE_WAIT_S = 2.0
    settings.MODEL_TIMEOUT_S = 60.0
    judge_spec = {"kind": "judge", "rubric": "r", "model": "sim/judge"}
    cel = {"kind": "cel", "expr": "true"}

    assert check_lease([cel]) == timedelta(seconds=CHECK_LEASE_MARGIN_S)
    assert check_lease([judge_spec, cel, judge_spec]) == timedelta(seconds=CHECK_LEASE_MARGIN_S + 2 * 62)


def test_a_check_that_crashes_releases_its_case_for_a_retry_soon(admin, judge, sent, monkeypatch):
    result = judged_case(admin)
    counting = judge()

    def crash(*args, **kwargs):
        raise RuntimeError("a bug in a check")

    monkeypatch.setattr("evals.services.runs.checks_run", crash)
    crashed_at = clock.now()
    with pytest.raises(RuntimeError, match="a bug in a check"):
        eval_case_check(task_id=result.task_id)
    result.refresh_from_db()
    assert (result.status, result.check_claimed_at) == ("pending", None)
    retry_at = result.check_lease_until
    assert retry_at is not None
    assert retry_at - crashed_at < check_lease(result.check_specs) - timedelta(seconds=60)

    # Not on the very next pass (a check that always fails would be paid for every 10 s)...
    assert eval_cases_sweep() == 0
    # ...and not a whole lease later: once the retry time passes, the sweeper re-sends it.
    with time_machine.travel(retry_at + timedelta(seconds=1)):
        assert eval_cases_sweep() == 1
    assert sent == [str(result.task_id)]
    monkeypatch.setattr("evals.services.runs.checks_run", checks_run)
    assert eval_case_check(task_id=result.task_id) == "passed"
    assert counting.calls == 1


def test_a_case_whose_check_fails_in_the_sweep_does_not_keep_the_sweep_from_the_others(
    admin, use_simulator, monkeypatch, caplog
):
    make_agent("support", model="sim/echo")
    suite = suite_create(actor=admin, agent_name="support", name="s")
    for name in ("a-first", "b-second"):
        case_create(
            actor=admin, suite_id=suite.pk, name=name, input="hello", checks=[{"kind": "cel", "expr": "true"}]
        )
    run = eval_run_start(suite=suite, agent_version=suite.agent.current_version, by=admin)
    ended = clock.now() - timedelta(minutes=1)
    Task.objects.filter(pk__in=run.results.values("task_id")).update(
        status=Task.Status.SUCCEEDED, finished_at=ended
    )
    real = checks_run
    calls: list[int] = []

    def first_crashes(specs, observation, *, task):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug in a check")
        return real(specs, observation, task=task)

    monkeypatch.setattr("evals.services.runs.checks_run", first_crashes)
    assert eval_cases_sweep() == 1

    assert len(calls) == 2
    statuses = sorted(run.results.values_list("status", flat=True))
    assert statuses == ["passed", "pending"]
    assert "a bug in a check" in caplog.text


def test_a_released_claim_leaves_the_claim_of_a_run_that_took_the_case_over(admin, use_simulator):
    result = judged_case(admin)
    first = check_claim(result)
    assert first is not None
    with time_machine.travel(first + check_lease(result.check_specs) + timedelta(seconds=1)):
        second = check_claim(result)  # the first run's lease passed: another run took over
    assert second is not None

    assert not check_release(result, first)
    result.refresh_from_db()
    assert result.check_claimed_at == second
    assert check_release(result, second)

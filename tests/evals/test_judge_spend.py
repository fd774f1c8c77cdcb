"""A judge's call is metered like the runtime's: its worst case is reserved under the cost
breakers of the case's task before it is sent, and settled at its real cost (or given back)
however the call ends. A call the breakers refuse is not made, and its check is an error."""

import time
from decimal import Decimal

import pytest

from agents.guards.models import SpendRecord
from agents.guards.spend import NANO, cost_reserve_rebuilt, scope_usage, task_call_reservation, to_nano
from agents.guards.store import guard_key
from agents.models import Task
from agents.providers.base import ChatProvider, ChatRequest, ChatResponse, ProviderError
from agents.providers.registry import provider_for
from core import clock
from evals.checks.run import checks_run
from evals.checks.specs import checks_validate
from evals.services.runs import eval_case_check, eval_run_start
from evals.services.suites import case_create, suite_create
from tests.agents.guards.conftest import guard_prefix  # noqa: F401 - autouse: counters of this test's own
from tests.evals.support import judged_task
from tests.evals.test_checks import observation

JUDGE = [{"kind": "judge", "rubric": "The answer confirms the refund.", "model": "sim/judge"}]


def session_usage(task: Task) -> tuple[Decimal, Decimal]:
    return scope_usage(guard_key("cost", "session", task.session_id))


class Watched:
    """The simulator's provider, seeing the session's counters as each call is sent; `fail`
    makes the call raise instead of answering."""

    def __init__(self, task: Task, fail: Exception | None = None) -> None:
        self.real: ChatProvider = provider_for("sim/judge")[0]
        self.name = self.real.name
        self.task = task
        self.fail = fail
        self.seen: list[tuple[Decimal, Decimal]] = []

    def complete(self, request: ChatRequest) -> ChatResponse:
        self.seen.append(session_usage(self.task))
        if self.fail is not None:
            raise self.fail
        return self.real.complete(request)


@pytest.fixture
def watch(monkeypatch):
    def install(task: Task, fail: Exception | None = None) -> Watched:
        provider = Watched(task, fail)
        monkeypatch.setattr(
            "evals.checks.judge.provider_for", lambda model: (provider, model.split("/", 1)[1])
        )
        return provider

    return install


@pytest.mark.django_db
def test_a_judge_call_admitted_by_the_budget_is_reserved_first_and_settles_its_real_cost(
    admin, use_simulator, watch
):
    task = judged_task(admin)
    provider = watch(task)

    checked = checks_run(checks_validate(JUDGE), observation(), task=task)

    assert checked.results[0]["passed"] is True
    # While the call was out, its worst case was held and nothing was spent yet.
    [(spent_during, reserved_during)] = provider.seen
    assert spent_during == 0
    assert reserved_during > 0
    cost = checked.judge_cost_usd
    assert 0 < cost < reserved_during
    assert session_usage(task) == (Decimal(to_nano(cost)) / NANO, Decimal(0))
    [record] = SpendRecord.objects.filter(task_id=task.pk)
    assert record.reservation.startswith(f"judge:{task.pk}:")
    assert (record.model, record.cost_usd, record.user_key) == (
        "sim/judge",
        cost,
        f"owner-{admin.pk}/eval:judged",
    )


@pytest.mark.django_db
def test_a_judge_call_the_budget_cannot_hold_is_refused_unsent_and_the_check_says_so(
    admin, use_simulator, watch
):
    # Less than the judge's worst case (its prompt and 300 output tokens at the sim's price).
    task = judged_task(admin, max_cost_usd=Decimal("0.000010"))
    provider = watch(task)

    checked = checks_run(checks_validate(JUDGE), observation(), task=task)

    assert provider.seen == []  # never sent
    [result] = checked.results
    assert (result["passed"], result["error"]) == (False, True)
    assert result["detail"].startswith(
        "the judge sim/judge was not called: the cost breaker refused it: the session cost "
        "ceiling of 0.000010 USD leaves no room (spent 0, the call may cost up to "
    )
    assert checked.status == "error"
    assert (checked.judge_cost_usd, checked.judge_input_tokens) == (Decimal(0), 0)
    assert session_usage(task) == (Decimal(0), Decimal(0))
    assert not SpendRecord.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fail", [ProviderError("upstream 503", kind="transient", status=503), RuntimeError("a bug")]
)
def test_the_reservation_is_given_back_when_the_judge_call_fails(admin, use_simulator, watch, fail):
    task = judged_task(admin)
    provider = watch(task, fail=fail)

    if isinstance(fail, ProviderError):
        [result] = checks_run(checks_validate(JUDGE), observation(), task=task).results
        assert (result["error"], result["detail"]) == (
            True,
            "the judge sim/judge did not answer: upstream 503",
        )
    else:
        with pytest.raises(RuntimeError):
            checks_run(checks_validate(JUDGE), observation(), task=task)

    [(_spent, reserved_during)] = provider.seen
    assert reserved_during > 0
    assert session_usage(task) == (Decimal(0), Decimal(0))
    assert not SpendRecord.objects.exists()


@pytest.mark.django_db
def test_a_refused_judge_ends_its_case_in_error_and_the_run_goes_on(admin, use_simulator, settings):
    """The global hour's ceiling, spent by other calls, refuses the judge: its case is an
    error, the case without a judge passes, and the run ends `error`."""
    from tests.factories import make_agent

    make_agent("support", model="sim/echo")
    suite = suite_create(actor=admin, agent_name="support", name="s")
    case_create(actor=admin, suite_id=suite.pk, name="judged", input="hello", checks=JUDGE)
    case_create(actor=admin, suite_id=suite.pk, name="plain", input="hello")
    run = eval_run_start(suite=suite, agent_version=suite.agent.current_version, by=admin)
    settings.GUARD_GLOBAL_HOUR_USD = Decimal("0.000010")
    for result in run.results.select_related("task"):
        Task.objects.filter(pk=result.task.pk).update(status=Task.Status.SUCCEEDED, result="hello")

    outcomes = {r.case_name: eval_case_check(task_id=r.task_id) for r in run.results.all()}

    assert outcomes == {"judged": "error", "plain": "passed"}
    judged = run.results.get(case_name="judged")
    assert "the global-hour cost ceiling of 0.000010 USD leaves no room" in judged.checks[0]["detail"]
    assert "spent" not in judged.checks[0]["detail"]  # the hour's sum is every account's spend
    run.refresh_from_db()
    assert (run.status, run.cases_passed, run.cases_errored) == ("error", 1, 1)


@pytest.mark.django_db
def test_room_held_by_other_calls_is_waited_for_a_bounded_time_then_the_check_errs(
    admin, use_simulator, watch, settings
):
    settings.GUARD_RESERVE_WAIT_S = 0.3
    task = judged_task(admin, max_cost_usd=Decimal("0.001"))
    provider = watch(task)
    # Another call of the session holds almost all of its ceiling and does not settle.
    other = task_call_reservation(
        task, model="sim/echo", amount=Decimal("0.0009"), now=clock.now(), purpose="t"
    )
    assert cost_reserve_rebuilt(other, now=clock.now())[0] == 1

    started = time.monotonic()
    [result] = checks_run(checks_validate(JUDGE), observation(), task=task).results

    assert 0.3 <= time.monotonic() - started < 5
    assert provider.seen == []
    assert result["error"] is True
    assert result["detail"] == (
        "the judge sim/judge was not called: the session cost ceiling of 0.001 USD is held by "
        "other calls' reservations (0.0009 USD)"
    )
    assert session_usage(task) == (Decimal(0), Decimal("0.0009"))  # the judge holds nothing

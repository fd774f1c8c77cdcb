"""Candidate versions decided by their required suites' runs, without a worker: the tasks are
ended here, and the cases checked as the worker's listener would."""

from datetime import timedelta

import pytest

from agents.models import AgentVersion, Task
from agents.services.catalog import agent_update
from agents.services.tasks import task_submit
from approvals.models import AuditEntry
from core import clock
from evals.models import EvalCaseResult, EvalRun
from evals.services.runs import eval_case_check, eval_cases_sweep, eval_task_ended
from evals.services.suites import case_create, suite_create
from tests.factories import make_agent
from tests.support.races import race


def end(task: Task, status: str = Task.Status.SUCCEEDED) -> None:
    now = clock.now()
    Task.objects.filter(pk=task.pk).update(status=status, started_at=now, finished_at=now, result="done")


def two_required_suites(admin) -> None:
    make_agent("support", model="sim/echo")
    for name in ("alpha", "beta"):
        suite = suite_create(actor=admin, agent_name="support", name=name, required=True)
        case_create(actor=admin, suite_id=suite.pk, name="one", input="hello")


@pytest.mark.django_db(transaction=True)
def test_two_runs_ending_at_once_promote_the_candidate_once(admin, sim_priced, use_simulator):
    two_required_suites(admin)
    version = agent_update(actor=admin, name="support", system_prompt="v2")
    assert version.status == AgentVersion.Status.CANDIDATE
    tasks = [result.task for result in EvalCaseResult.objects.select_related("task")]
    assert len(tasks) == 2
    for task in tasks:
        end(task)

    outcomes = race(*(lambda task=task: eval_case_check(task_id=task.pk) for task in tasks))

    assert outcomes == ["passed", "passed"]
    version.refresh_from_db()
    assert version.status == AgentVersion.Status.CURRENT
    assert version.agent.__class__.objects.get(pk=version.agent_id).current_version_id == version.pk
    assert AuditEntry.objects.filter(action="agent.candidate_promoted").count() == 1
    assert set(EvalRun.objects.values_list("status", flat=True)) == {"passed"}


@pytest.mark.django_db(transaction=True)
def test_one_failing_required_suite_rejects_and_the_current_version_stays(admin, sim_priced, use_simulator):
    two_required_suites(admin)
    version = agent_update(actor=admin, name="support", system_prompt="v2")
    first, second = EvalCaseResult.objects.select_related("task").order_by("run__suite__name")
    end(first.task)
    end(second.task, Task.Status.FAILED)

    race(lambda: eval_case_check(task_id=first.task.pk), lambda: eval_case_check(task_id=second.task.pk))

    version.refresh_from_db()
    assert version.status == AgentVersion.Status.REJECTED
    assert version.agent.__class__.objects.get(pk=version.agent_id).current_version.number == 1
    [rejected] = AuditEntry.objects.filter(action="agent.candidate_rejected")
    assert "suite 'beta'" in rejected.after["detail"]
    assert "one (the task succeeded)" in rejected.after["detail"]


@pytest.mark.django_db
def test_a_case_is_checked_once_however_often_its_message_comes(admin, sim_priced, use_simulator):
    make_agent("support", model="sim/echo")
    suite = suite_create(actor=admin, agent_name="support", name="s")
    case_create(actor=admin, suite_id=suite.pk, name="one", input="hello")
    from evals.services.runs import eval_run_start

    run = eval_run_start(suite=suite, agent_version=suite.agent.current_version, by=admin)
    task = run.results.get().task
    assert eval_case_check(task_id=task.pk) is None  # not ended yet: nothing to check
    end(task)
    assert eval_case_check(task_id=task.pk) == "passed"
    assert eval_case_check(task_id=task.pk) is None
    run.refresh_from_db()
    assert (run.status, run.cases_passed) == ("passed", 1)


@pytest.mark.django_db
def test_the_sweeper_checks_a_case_whose_task_was_cancelled_before_it_ran(admin, sim_priced, use_simulator):
    make_agent("support", model="sim/echo")
    suite = suite_create(actor=admin, agent_name="support", name="s")
    case_create(actor=admin, suite_id=suite.pk, name="one", input="hello")
    from evals.services.runs import eval_run_start

    run = eval_run_start(suite=suite, agent_version=suite.agent.current_version, by=admin)
    task = run.results.get().task
    long_ago = clock.now() - timedelta(minutes=1)
    Task.objects.filter(pk=task.pk).update(status=Task.Status.CANCELLED, finished_at=long_ago)

    assert eval_cases_sweep() == 1

    result = run.results.get()
    assert result.status == "error"
    assert result.checks[0]["detail"].startswith("the case's task was cancelled")
    run.refresh_from_db()
    assert run.status == "error"


@pytest.mark.django_db
def test_without_required_suites_an_edit_is_current_at_once(admin, sim_priced, use_simulator):
    make_agent("support", model="sim/echo")
    suite_create(actor=admin, agent_name="support", name="optional")
    version = agent_update(actor=admin, name="support", system_prompt="v2")
    assert version.status == AgentVersion.Status.CURRENT
    assert version.agent.current_version_id == version.pk
    assert not EvalRun.objects.exists()


@pytest.mark.django_db
def test_required_suites_without_cases_pass_at_once(admin, sim_priced, use_simulator):
    make_agent("support", model="sim/echo")
    suite_create(actor=admin, agent_name="support", name="empty", required=True)
    version = agent_update(actor=admin, name="support", system_prompt="v2")
    assert version.status == AgentVersion.Status.CURRENT
    assert version.agent.current_version_id == version.pk
    assert EvalRun.objects.get().status == "passed"


@pytest.mark.django_db(transaction=True)
def test_the_task_end_listener_checks_a_case_and_costs_any_other_task_no_query(
    admin, requester, sim_priced, use_simulator, django_assert_num_queries
):
    two_required_suites(admin)
    agent_update(actor=admin, name="support", system_prompt="v2")
    case = EvalCaseResult.objects.select_related("task").order_by("run__suite__name").first()
    assert case is not None
    end(case.task)
    ordinary, _ = task_submit(owner=requester, agent_name="support", input="hello")
    end(ordinary)

    ended = Task.objects.get(pk=ordinary.pk)
    with django_assert_num_queries(0):
        eval_task_ended(task=ended, status=Task.Status.SUCCEEDED)
    eval_task_ended(task=Task.objects.get(pk=case.task.pk), status=Task.Status.SUCCEEDED)

    case.refresh_from_db()
    assert case.status == "passed"

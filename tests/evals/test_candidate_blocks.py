"""A candidate whose required run ended in error is blocked, not left waiting: the API and the
console say which run and how to re-run it, serving it is a 409 `eval_run_error`, and a new
run of the suite decides it. Without a worker: the tasks are ended here."""

import pytest
from django.test import Client
from django.urls import reverse

from agents.models import Agent, AgentVersion, Task
from agents.services.catalog import agent_update
from approvals.models import AuditEntry
from evals.models import EvalRun, EvalSuite
from evals.services.runs import eval_case_check, eval_run_start
from evals.services.suites import case_create, suite_create, suite_delete, suite_update
from tests.evals.test_candidates import end, two_required_suites
from tests.factories import make_agent
from tests.support.races import race

pytestmark = pytest.mark.django_db

JSON = "application/json"


def check(run: EvalRun, status: str = Task.Status.SUCCEEDED) -> str | None:
    [result] = run.results.select_related("task")
    end(result.task, status)
    return eval_case_check(task_id=result.task_id)


def run_of(suite_name: str, number: int) -> EvalRun:
    return EvalRun.objects.filter(suite__name=suite_name, agent_version__number=number).latest("created_at")


def candidate_with_an_errored_run(admin) -> AgentVersion:
    """v2 of `support`: alpha's run passed, beta's ended in error (its task was cancelled)."""
    two_required_suites(admin)
    version = agent_update(actor=admin, name="support", system_prompt="v2")
    assert check(run_of("alpha", 2)) == "passed"
    assert check(run_of("beta", 2), Task.Status.CANCELLED) == "error"
    version.refresh_from_db()
    assert version.status == AgentVersion.Status.CANDIDATE
    return version


def test_an_errored_required_run_blocks_the_candidate_and_serving_it_is_refused_naming_the_run(
    admin, admin_api, sim_priced, use_simulator
):
    candidate_with_an_errored_run(admin)
    errored = run_of("beta", 2)
    beta = EvalSuite.objects.get(name="beta")

    body = admin_api.get("/api/v1/agents/support/versions/2").json()
    assert body["status"] == "candidate"
    blocked = body["blocked"]
    assert blocked["code"] == "eval_run_error"
    assert blocked["runs"] == [{"suite": beta.pk, "suite_name": "beta", "run": str(errored.pk)}]
    assert blocked["message"].startswith(
        f"suite 'beta' run {errored.pk} ended in error (1 of 1 cases could not be run or checked): "
        f're-run the suite against version 2 (POST /api/v1/evals/suites/{beta.pk}/runs {{"version": 2}})'
    )
    # Other versions are never blocked.
    assert admin_api.get("/api/v1/agents/support/versions/1").json()["blocked"] is None

    for path, payload in (
        ("/api/v1/agents/support/rollback", {"version": 2}),
        ("/api/v1/agents/support/rollouts", {"canary_version": 2, "percent": 10}),
    ):
        refused = admin_api.post(path, payload, content_type=JSON)
        assert refused.status_code == 409, path
        error = refused.json()["error"]
        assert error["code"] == "eval_run_error"
        assert str(errored.pk) in error["message"]
        assert "re-run the suite against version 2" in error["message"]
        assert error["runs"] == blocked["runs"]
    assert Agent.objects.get(name="support").current_version.number == 1

    browser = Client()
    browser.force_login(admin)
    page = browser.get(reverse("console:agent", args=["support"])).content.decode()
    assert "blocked (eval_run_error)" in page
    assert str(errored.pk) in page
    assert reverse("evals:run_start", args=[beta.pk]) in page  # the re-run button
    run_page = browser.get(reverse("evals:run", args=[errored.pk])).content.decode()
    assert 'id="candidate-block"' in run_page
    assert "re-run the suite against version 2" in run_page


def test_a_new_run_of_the_suite_that_passes_clears_the_block_and_promotes_the_candidate(
    admin, admin_api, sim_priced, use_simulator
):
    version = candidate_with_an_errored_run(admin)
    beta = EvalSuite.objects.get(name="beta")

    rerun = eval_run_start(suite=beta, agent_version=version, by=admin)
    assert rerun.gates_version
    # While it runs the candidate waits for it: not blocked, and still not served.
    assert admin_api.get("/api/v1/agents/support/versions/2").json()["blocked"] is None
    refused = admin_api.post("/api/v1/agents/support/rollback", {"version": 2}, content_type=JSON)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "conflict"
    assert "its required checks are still running" in refused.json()["error"]["message"]

    assert check(rerun) == "passed"

    version.refresh_from_db()
    assert version.status == AgentVersion.Status.CURRENT
    assert Agent.objects.get(name="support").current_version_id == version.pk
    assert admin_api.get("/api/v1/agents/support/versions/2").json()["blocked"] is None
    assert AuditEntry.objects.filter(action="agent.candidate_promoted").count() == 1


def test_a_new_run_that_errs_again_blocks_it_naming_the_new_run(admin, admin_api, sim_priced, use_simulator):
    version = candidate_with_an_errored_run(admin)
    rerun = eval_run_start(suite=EvalSuite.objects.get(name="beta"), agent_version=version, by=admin)

    assert check(rerun, Task.Status.CANCELLED) == "error"

    blocked = admin_api.get("/api/v1/agents/support/versions/2").json()["blocked"]
    assert [run["run"] for run in blocked["runs"]] == [str(rerun.pk)]
    version.refresh_from_db()
    assert version.status == AgentVersion.Status.CANDIDATE


def test_a_candidate_never_waits_on_a_suite_that_has_no_run_or_is_no_longer_required(
    admin, admin_api, sim_priced, use_simulator
):
    make_agent("support", model="sim/echo")
    alpha = suite_create(actor=admin, agent_name="support", name="alpha", required=True)
    case_create(actor=admin, suite_id=alpha.pk, name="one", input="hello")
    version = agent_update(actor=admin, name="support", system_prompt="v2")
    assert check(run_of("alpha", 2), Task.Status.CANCELLED) == "error"
    # Made required after the candidate was created: no run of it decides the candidate yet.
    beta = suite_create(actor=admin, agent_name="support", name="beta", required=True)

    blocked = admin_api.get("/api/v1/agents/support/versions/2").json()["blocked"]
    assert blocked["code"] == "eval_run_error"
    assert [(run["suite_name"], run["run"] is None) for run in blocked["runs"]] == [
        ("alpha", False),
        ("beta", True),
    ]

    suite_delete(actor=admin, suite_id=alpha.pk)
    blocked = admin_api.get("/api/v1/agents/support/versions/2").json()["blocked"]
    assert blocked["code"] == "eval_run_missing"
    assert "suite 'beta' has no run against it: run the suite against version 2" in blocked["message"]

    # The last required suite made optional: nothing is left to wait for, so it is decided.
    suite_update(actor=admin, suite_id=beta.pk, required=False)
    version.refresh_from_db()
    assert version.status == AgentVersion.Status.CURRENT
    [promoted] = AuditEntry.objects.filter(action="agent.candidate_promoted")
    assert promoted.actor_id == admin.pk


@pytest.mark.django_db(transaction=True)
def test_a_rerun_passing_while_the_blocked_suite_is_made_optional_promotes_once(
    admin, sim_priced, use_simulator
):
    version = candidate_with_an_errored_run(admin)
    beta = EvalSuite.objects.get(name="beta")
    rerun = eval_run_start(suite=beta, agent_version=version, by=admin)
    [result] = rerun.results.select_related("task")
    end(result.task)

    # Either one alone would promote the candidate: exactly one of them does.
    race(
        lambda: eval_case_check(task_id=result.task_id),
        lambda: suite_update(actor=admin, suite_id=beta.pk, required=False),
    )

    version.refresh_from_db()
    assert version.status == AgentVersion.Status.CURRENT
    assert Agent.objects.get(name="support").current_version_id == version.pk
    assert AuditEntry.objects.filter(action="agent.candidate_promoted").count() == 1

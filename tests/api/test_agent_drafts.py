"""POST /api/v1/agents/{name}/versions: a draft version, which serves no new session until a
rollout makes it the canary (and its promotion, or a rollback, current)."""

import pytest

from agents.models import Agent, AgentVersion, Rollout, Task
from agents.rollouts.services import rollout_start
from agents.runtime.loop import RunOutcome, task_steps_run
from agents.services.catalog import agent_create, agent_draft_create, agent_update
from agents.services.tasks import task_submit
from approvals.models import AuditEntry
from evals.models import EvalCaseResult, EvalRun
from evals.services.runs import eval_case_check
from evals.services.suites import case_create, suite_create
from tests.api import run_concurrently
from tests.evals.test_candidate_blocks import check, run_of
from tests.evals.test_candidates import end, two_required_suites
from tests.factories import make_agent
from tests.support.races import race

JSON = "application/json"
URL = "/api/v1/agents/bot"


@pytest.fixture
def bot(admin, sim_priced) -> Agent:
    return agent_create(actor=admin, name="bot", model="sim/echo", system_prompt="Current.").agent


def draft(client, name: str = "bot", **body):
    return client.post(
        f"/api/v1/agents/{name}/versions", body or {"system_prompt": "Draft."}, content_type=JSON
    )


def start(client, canary_version: int = 2, name: str = "bot", **body):
    return client.post(
        f"/api/v1/agents/{name}/rollouts",
        {"canary_version": canary_version, "percent": 50} | body,
        content_type=JSON,
    )


def current_number(name: str = "bot") -> int:
    return Agent.objects.select_related("current_version").get(name=name).current_version.number


@pytest.mark.django_db(transaction=True)
def test_a_draft_is_a_new_version_that_no_new_session_runs(admin_api, requester_api, bot, use_simulator):
    # The draft's model always fails: a task that ran on it could not succeed.
    created = draft(admin_api, model="sim/model_down", budgets={"max_tokens": 7})

    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["version"], body["status"], body["current"], body["created_as_draft"]) == (
        2,
        "draft",
        False,
        True,
    )
    assert (body["model"], body["budgets"]["max_tokens"], body["system_prompt"]) == (
        "sim/model_down",
        7,
        "Current.",
    )
    assert admin_api.get(URL).json()["version"] == 1
    listed = admin_api.get(f"{URL}/versions").json()["items"]
    assert [(item["version"], item["status"], item["current"]) for item in listed] == [
        (2, "draft", False),
        (1, "current", True),
    ]
    [entry] = AuditEntry.objects.filter(action="agent.draft_created")
    assert (entry.actor_name, entry.after["version"], entry.before["version"]) == ("admin", 2, 1)

    accepted = requester_api.post("/api/v1/tasks", {"agent": "bot", "input": "hello"}, content_type=JSON)

    assert accepted.status_code == 202, accepted.content
    task = Task.objects.select_related("session__agent_version").get(pk=accepted.json()["id"])
    assert (task.session.agent_version.number, task.session.rollout_id) == (1, None)
    assert task_steps_run(task_id=task.id, max_steps=10, max_seconds=60) is RunOutcome.FINISHED
    task.refresh_from_db()
    assert (task.status, task.stop_reason) == (Task.Status.SUCCEEDED, "completed")


def test_a_rollout_serves_the_draft_as_canary_and_promotion_makes_it_current(admin_api, requester, bot):
    draft(admin_api, model="sim/chain")

    started = start(admin_api, percent=50)

    assert started.status_code == 201, started.content
    assert (started.json()["baseline_version"], started.json()["canary_version"]) == (1, 2)
    sessions = [task_submit(owner=requester, agent_name="bot", input="hi")[0].session for _ in range(40)]
    by_arm = {(s.rollout_arm, s.agent_version.number) for s in sessions}
    assert by_arm == {("baseline", 1), ("canary", 2)}

    promoted = admin_api.post(f"{URL}/rollouts/{started.json()['id']}/promote", {}, content_type=JSON)

    assert promoted.status_code == 200, promoted.content
    version = admin_api.get(f"{URL}/versions/2").json()
    assert (version["status"], version["current"], version["created_as_draft"]) == ("current", True, True)
    assert admin_api.get(URL).json()["version"] == 2
    session = task_submit(owner=requester, agent_name="bot", input="hi")[0].session
    assert (session.agent_version.number, session.rollout_id) == (2, None)


def test_a_rolled_back_rollout_leaves_the_draft_a_draft(admin_api, bot):
    draft(admin_api)
    rollout_id = start(admin_api).json()["id"]

    admin_api.post(f"{URL}/rollouts/{rollout_id}/rollback", {}, content_type=JSON)

    assert admin_api.get(f"{URL}/versions/2").json()["status"] == "draft"
    assert current_number() == 1
    # It may be tried again.
    assert start(admin_api).status_code == 201


def test_a_draft_is_created_while_a_rollout_is_active_and_changes_nothing_that_serves(
    admin_api, requester, bot
):
    draft(admin_api)
    rollout_id = start(admin_api).json()["id"]

    created = draft(admin_api, system_prompt="Third.")

    assert created.status_code == 201, created.content
    assert (created.json()["version"], created.json()["status"]) == (3, "draft")
    # An edit would change the current version, the rollout's baseline: still refused.
    assert admin_api.patch(URL, {"system_prompt": "x"}, content_type=JSON).status_code == 409
    rollout = Rollout.objects.select_related("baseline", "canary").get()
    assert (rollout.pk, rollout.status, rollout.baseline.number, rollout.canary.number) == (
        rollout_id,
        "active",
        1,
        2,
    )
    assert current_number() == 1
    versions = {
        task_submit(owner=requester, agent_name="bot", input="hi")[0].session.agent_version.number
        for _ in range(30)
    }
    assert versions == {1, 2}


def test_a_rollback_to_a_draft_makes_it_current(admin_api, bot):
    draft(admin_api)

    rolled = admin_api.post(f"{URL}/rollback", {"version": 2}, content_type=JSON)

    assert rolled.status_code == 200, rolled.content
    assert (rolled.json()["status"], rolled.json()["current"]) == ("current", True)
    assert AgentVersion.objects.get(agent=bot, number=2).status == AgentVersion.Status.CURRENT
    assert current_number() == 2


@pytest.mark.parametrize("client_name", ["reviewer_api", "requester_api", "outsider_api", "client"])
def test_only_an_admin_creates_a_draft(request, bot, client_name):
    refused = draft(request.getfixturevalue(client_name))

    assert refused.status_code == (401 if client_name == "client" else 403), refused.content
    assert AgentVersion.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, None),
        ({"name": "renamed"}, 422, "name"),
        ({"model": "gpt-4o"}, 422, "model"),
        ({"model": None}, 422, "model"),
        ({"tools": ["no_such_tool"]}, 422, "tools"),
        ({"budgets": {"max_cost_usd": "-1"}}, 422, "budgets.max_cost_usd"),
        ({"loops": {"threshold": 2}}, 422, "loops.threshold"),
        ({"draft": True}, 422, "draft"),
    ],
)
def test_a_bad_draft_is_a_clear_4xx_and_adds_no_version(admin_api, bot, body, status, field):
    refused = admin_api.post(f"{URL}/versions", body, content_type=JSON)

    assert refused.status_code == status, refused.content
    assert refused.json()["error"].get("field") == field
    assert AgentVersion.objects.count() == 1


def test_a_draft_of_an_unknown_agent_is_not_found(admin_api, bot):
    refused = draft(admin_api, name="nobody")

    assert refused.status_code == 404
    assert refused.json()["error"]["field"] == "name"


@pytest.mark.django_db(transaction=True)
def test_concurrent_drafts_and_an_edit_each_get_their_own_version(admin_api, bot):
    """The agent's row lock, the one edits take, numbers them: without it they would all claim 2."""
    prompts = [f"draft {n}" for n in range(5)]

    responses = run_concurrently(
        *(lambda prompt=prompt: draft(admin_api, system_prompt=prompt) for prompt in prompts),
        lambda: admin_api.patch(URL, {"system_prompt": "edit"}, content_type=JSON),
    )

    assert [r.status_code for r in responses] == [201] * len(prompts) + [200]
    numbers = [r.json()["version"] for r in responses]
    assert sorted(numbers) == list(range(2, 3 + len(prompts)))
    versions = AgentVersion.objects.filter(number__gt=1)
    assert sorted(versions.filter(status="draft").values_list("system_prompt", flat=True)) == prompts
    # The edit alone became current.
    assert current_number() == numbers[-1]
    assert versions.get(number=numbers[-1]).system_prompt == "edit"


# With required eval suites (docs/evals.md): the draft is a candidate until they decide it, as an
# edit's version is, but passing them leaves it a draft.


@pytest.mark.django_db(transaction=True)
def test_required_suites_run_for_a_draft_and_passing_makes_it_a_draft_not_current(
    admin, admin_api, sim_priced, use_simulator
):
    two_required_suites(admin)

    created = draft(admin_api, name="support", system_prompt="v2")

    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["status"], body["current"], body["created_as_draft"], body["blocked"]) == (
        "candidate",
        False,
        True,
        None,
    )
    runs = EvalRun.objects.filter(agent_version__number=2, gates_version=True)
    assert sorted(runs.values_list("suite__name", flat=True)) == ["alpha", "beta"]
    refused = start(admin_api, name="support")
    assert refused.status_code == 409
    assert "its required checks are still running" in refused.json()["error"]["message"]
    tasks = [run.results.get().task for run in runs]
    for task in tasks:
        end(task)

    assert race(*(lambda task=task: eval_case_check(task_id=task.pk) for task in tasks)) == [
        "passed",
        "passed",
    ]

    version = AgentVersion.objects.get(agent__name="support", number=2)
    assert version.status == AgentVersion.Status.DRAFT
    assert current_number("support") == 1
    assert AuditEntry.objects.filter(action="agent.draft_passed").count() == 1
    assert not AuditEntry.objects.filter(action="agent.candidate_promoted").exists()
    assert start(admin_api, name="support").status_code == 201


def test_a_draft_that_fails_a_required_suite_is_rejected_and_no_canary(
    admin, admin_api, sim_priced, use_simulator
):
    two_required_suites(admin)
    draft(admin_api, name="support", system_prompt="v2")

    assert check(run_of("alpha", 2)) == "passed"
    assert check(run_of("beta", 2), Task.Status.FAILED) == "failed"

    assert AgentVersion.objects.get(agent__name="support", number=2).status == AgentVersion.Status.REJECTED
    assert AuditEntry.objects.filter(action="agent.candidate_rejected").count() == 1
    refused = start(admin_api, name="support")
    assert refused.status_code == 409
    assert "it failed its required checks" in refused.json()["error"]["message"]
    assert current_number("support") == 1


def test_a_blocked_draft_is_refused_as_a_canary_naming_the_run(admin, admin_api, sim_priced, use_simulator):
    two_required_suites(admin)
    draft(admin_api, name="support", system_prompt="v2")
    assert check(run_of("alpha", 2)) == "passed"
    assert check(run_of("beta", 2), Task.Status.CANCELLED) == "error"
    errored = run_of("beta", 2)

    refused = start(admin_api, name="support")

    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "eval_run_error"
    assert str(errored.pk) in error["message"]
    version = admin_api.get("/api/v1/agents/support/versions/2").json()
    assert (version["status"], version["blocked"]["code"]) == ("candidate", "eval_run_error")
    assert not Rollout.objects.exists()


def test_required_suites_without_cases_leave_a_draft_a_draft_at_once(admin, admin_api, bot, use_simulator):
    suite_create(actor=admin, agent_name="bot", name="empty", required=True)

    created = draft(admin_api)

    assert (created.json()["status"], created.json()["current"]) == ("draft", False)
    assert EvalRun.objects.get().status == "passed"
    assert current_number() == 1


@pytest.mark.django_db(transaction=True)
def test_an_edit_that_passes_its_suites_during_a_rollout_waits_as_a_draft(
    admin, admin_api, sim_priced, use_simulator
):
    # The edit (v3) was made before the rollout started; its suites pass while the rollout of
    # v2 runs. Made current then, it would change the rollout's baseline under it.
    make_agent("support", model="sim/echo")
    assert draft(admin_api, name="support", system_prompt="v2").json()["status"] == "draft"
    for name in ("alpha", "beta"):
        suite = suite_create(actor=admin, agent_name="support", name=name, required=True)
        case_create(actor=admin, suite_id=suite.pk, name="one", input="hello")
    edit = agent_update(actor=admin, name="support", system_prompt="v3")
    assert edit.status == AgentVersion.Status.CANDIDATE
    assert start(admin_api, name="support").status_code == 201
    tasks = [result.task for result in EvalCaseResult.objects.select_related("task")]
    for task in tasks:
        end(task)

    assert [eval_case_check(task_id=task.pk) for task in tasks] == ["passed", "passed"]

    edit.refresh_from_db()
    assert edit.status == AgentVersion.Status.DRAFT
    assert current_number("support") == 1  # the rollout's baseline
    entry = AuditEntry.objects.get(action="agent.draft_passed", after__version=3)
    assert "rollout" in entry.after["detail"]
    rollout = Rollout.objects.get(agent__name="support")
    promoted = admin_api.post(f"/api/v1/agents/support/rollouts/{rollout.pk}/promote", {}, content_type=JSON)
    assert promoted.status_code == 200, promoted.content
    assert current_number("support") == 2
    assert AgentVersion.objects.get(agent__name="support", number=3).status == AgentVersion.Status.DRAFT


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(4))
def test_a_rollout_starting_as_an_edit_passes_its_suites_keeps_its_baseline_current(
    admin, sim_priced, use_simulator, round_
):
    # Raced for real: the decision and the start each take the agent's row first, so either the
    # start comes after the edit became current (and the edit is the baseline), or the decision
    # sees the rollout and the edit waits as a draft. Never a rollout whose baseline is not current.
    name = f"support{round_}"
    make_agent(name, model="sim/echo")
    agent_draft_create(actor=admin, name=name, system_prompt="v2")  # no suites yet: a draft at once
    for suite_name in ("alpha", "beta"):
        suite = suite_create(actor=admin, agent_name=name, name=suite_name, required=True)
        case_create(actor=admin, suite_id=suite.pk, name="one", input="hello")
    agent_update(actor=admin, name=name, system_prompt="v3")
    tasks = [result.task for result in EvalCaseResult.objects.filter(run__suite__agent__name=name)]
    for task in tasks:
        end(task)
    assert eval_case_check(task_id=tasks[0].pk) == "passed"  # the last one decides

    decided, started = race(
        lambda: eval_case_check(task_id=tasks[1].pk),
        lambda: rollout_start(actor=admin, agent_name=name, canary_version=2, percent=50),
    )

    assert decided == "passed"
    assert isinstance(started, Rollout)
    rollout = Rollout.objects.select_related("baseline").get(pk=started.pk)
    agent = Agent.objects.get(name=name)
    assert rollout.baseline_id == agent.current_version_id
    edit = AgentVersion.objects.get(agent=agent, number=3)
    if rollout.baseline.number == 3:
        assert edit.status == AgentVersion.Status.CURRENT  # decided first
    else:
        assert rollout.baseline.number == 1
        assert edit.status == AgentVersion.Status.DRAFT  # the rollout first

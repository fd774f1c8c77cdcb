"""Eval runs end to end: real tasks in a real worker on the simulator, tools answered from the
recorded fixtures; a required suite holds a regressing version as a candidate."""

import pytest

from agents.models import Agent, AgentVersion
from approvals.models import AuditEntry
from evals.models import EvalRun
from tests.evals.support import refund_agent, refund_suite
from tests.support.processes import running_worker, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def run_ended(admin_api, run_id) -> dict:
    def ended():
        body = admin_api.get(f"/api/v1/evals/runs/{run_id}").json()
        return body if body["status"] != "running" else None

    return wait_until(ended, timeout=90, what=f"eval run {run_id} to end")


def test_a_run_plays_every_case_from_its_fixtures_and_checks_it(
    admin, admin_api, use_simulator, tool_server, tmp_path
):
    url, server = tool_server
    refund_agent(url)
    suite = refund_suite(admin, cases=3)

    with running_worker(tmp_path, SIMULATOR_URL=use_simulator) as worker:
        started = admin_api.post(f"/api/v1/evals/suites/{suite.pk}/runs", {}, content_type="application/json")
        assert started.status_code == 202, started.content
        assert started.json()["status"] == "running"
        body = run_ended(admin_api, started.json()["id"])
        assert body["status"] == "passed", worker.output()

    assert server.requests == 0  # every tool call was answered from the fixtures
    assert (body["cases_total"], body["cases_passed"], body["cases_failed"]) == (3, 3, 0)
    assert body["predecessor"] is None
    assert int(body["input_tokens"]) > 0
    assert float(body["cost_usd"]) > 0
    for result in body["results"]:
        assert result["status"] == "passed"
        assert [check["passed"] for check in result["checks"]] == [True, True, True]
        assert result["latency_ms"] > 0
    # The run's cost is exactly its cases' cost (the API shows six places).
    run = EvalRun.objects.get(pk=body["id"])
    assert run.cost_usd == sum(result.cost_usd for result in run.results.all())


def test_a_regressing_version_is_held_as_a_candidate_and_a_passing_one_becomes_current(
    admin, admin_api, use_simulator, tool_server, tmp_path
):
    url, server = tool_server
    agent = refund_agent(url)
    suite = refund_suite(admin, cases=2)

    with running_worker(tmp_path, SIMULATOR_URL=use_simulator) as worker:
        # The current version's run: the predecessor of the candidates'.
        first = admin_api.post(f"/api/v1/evals/suites/{suite.pk}/runs", {}, content_type="application/json")
        assert run_ended(admin_api, first.json()["id"])["status"] == "passed", worker.output()
        made_required = admin_api.patch(
            f"/api/v1/evals/suites/{suite.pk}", {"required": True}, content_type="application/json"
        )
        assert made_required.json()["required"] is True

        # A version that answers at once, without the tools: a regression.
        edited = admin_api.patch(
            "/api/v1/agents/support", {"model": "sim/echo"}, content_type="application/json"
        )
        assert edited.status_code == 200, edited.content
        assert (edited.json()["version"], edited.json()["status"], edited.json()["current"]) == (
            2,
            "candidate",
            False,
        )
        agent.refresh_from_db()
        assert agent.current_version.number == 1
        run = EvalRun.objects.get(agent_version__number=2)
        assert run.gates_version
        body = run_ended(admin_api, run.pk)
        assert body["status"] == "failed"
        v2 = AgentVersion.objects.get(agent=agent, number=2)
        wait_until(lambda: AgentVersion.objects.get(pk=v2.pk).status == "rejected", what="v2 rejected")

        # A version that keeps the behaviour: current once its run passed.
        edited = admin_api.patch(
            "/api/v1/agents/support", {"system_prompt": "Be kind."}, content_type="application/json"
        )
        assert edited.json()["status"] == "candidate"
        v3 = AgentVersion.objects.get(agent=agent, number=3)
        wait_until(
            lambda: AgentVersion.objects.get(pk=v3.pk).status == "current", timeout=90, what="v3 current"
        )

    # The rejected run names the cases and the checks that broke, regressions first.
    assert body["predecessor"]["version"] == 1
    assert body["changes"]["regression"] == 2
    for result in body["results"]:
        assert (result["before"], result["status"], result["change"]) == ("passed", "failed", "regression")
        broken = [check["name"] for check in result["checks"] if not check["passed"]]
        assert broken == ["looks up, then refunds at most 50", "says refunded"]
    agent.refresh_from_db()
    assert agent.current_version.number == 3
    actions = list(
        AuditEntry.objects.filter(object_type="agent", object_id="support").values_list("action", flat=True)
    )
    assert actions.count("agent.candidate_rejected") == 1
    assert actions.count("agent.candidate_promoted") == 1
    rejected = AuditEntry.objects.get(action="agent.candidate_rejected")
    assert "refund 0" in rejected.after["detail"]
    assert server.requests == 0
    # A rejected version cannot be made current by a rollback either.
    refused = admin_api.post(
        "/api/v1/agents/support/rollback", {"version": 2}, content_type="application/json"
    )
    assert refused.status_code == 409
    assert Agent.objects.get(pk=agent.pk).current_version.number == 3

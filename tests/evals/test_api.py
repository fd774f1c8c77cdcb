"""/api/v1/evals: who may do what, bounds and error shapes, cases from production tasks."""

import pytest

from agents.models import Session, Step, Task
from core import clock
from evals.limits import MAX_FIXTURES_PER_CASE
from tests.evals.support import LOOKUP, REFUND, refund_agent

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture
def suite_id(admin_api, sim_priced) -> int:
    refund_agent("http://127.0.0.1:9/tools")
    created = admin_api.post(
        "/api/v1/evals/suites", {"agent": "support", "name": "refunds"}, content_type=JSON
    )
    assert created.status_code == 201, created.content
    return created.json()["id"]


def production_task(owner) -> Task:
    """A refund as it ran in production: a lookup, a refund, an answer."""
    from agents.models import Agent

    agent = Agent.objects.get(name="support")
    session = Session.objects.create(agent=agent, agent_version=agent.current_version, owner=owner)
    task = Task.objects.create(session=session, owner=owner, input="Refund A-1001", status="succeeded")
    calls = [
        ("lookup_order", {"order_id": "A-1001"}, LOOKUP),
        ("issue_refund", {"order_id": "A-1001", "amount": 49.99}, REFUND),
    ]
    for index, (tool, arguments, result) in enumerate(calls):
        Step.objects.create(
            task=task,
            index=index,
            model="sim/refund",
            started_at=clock.now(),
            response={
                "tool_calls": [{"id": f"c{index}", "name": tool, "arguments": arguments, "raw_arguments": ""}]
            },
            tool_results=[result],
        )
    return task


def test_admins_write_reviewers_read_others_are_refused(admin_api, reviewer_api, requester_api, suite_id):
    case = {"name": "c", "input": "refund A-1001", "checks": [{"kind": "cel", "expr": "usage.steps < 5"}]}
    assert (
        reviewer_api.post(f"/api/v1/evals/suites/{suite_id}/cases", case, content_type=JSON).status_code
        == 403
    )
    created = admin_api.post(f"/api/v1/evals/suites/{suite_id}/cases", case, content_type=JSON)
    assert created.status_code == 201, created.content
    assert created.json()["checks"] == [{"kind": "cel", "name": "", "expr": "usage.steps < 5"}]
    listed = reviewer_api.get(f"/api/v1/evals/suites/{suite_id}/cases").json()
    assert [item["name"] for item in listed["items"]] == ["c"]
    assert reviewer_api.get(f"/api/v1/evals/suites/{suite_id}").json()["cases"] == 1
    assert requester_api.get("/api/v1/evals/suites").status_code == 403
    assert (
        reviewer_api.post(f"/api/v1/evals/suites/{suite_id}/runs", {}, content_type=JSON).status_code == 403
    )


def test_case_edits_are_audited_with_the_checks_that_decide_a_run(admin_api, suite_id):
    from approvals.models import AuditEntry

    case = {"name": "c", "input": "refund A-1001", "checks": [{"kind": "cel", "expr": "usage.steps < 5"}]}
    case_id = admin_api.post(f"/api/v1/evals/suites/{suite_id}/cases", case, content_type=JSON).json()["id"]
    loosened = {"checks": [{"kind": "cel", "expr": "usage.steps < 50"}]}
    assert admin_api.patch(f"/api/v1/evals/cases/{case_id}", loosened, content_type=JSON).status_code == 200
    assert admin_api.delete(f"/api/v1/evals/cases/{case_id}").status_code == 204

    entries = {entry.action: entry for entry in AuditEntry.objects.filter(object_type="eval_case")}
    assert set(entries) == {"eval_case.created", "eval_case.updated", "eval_case.deleted"}
    assert {entry.object_id for entry in entries.values()} == {str(case_id)}
    updated = entries["eval_case.updated"]
    assert updated.before["checks"][0]["expr"] == "usage.steps < 5"
    assert updated.after["checks"][0]["expr"] == "usage.steps < 50"
    assert entries["eval_case.deleted"].before["name"] == "c"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {
                "name": "c",
                "input": "x",
                "checks": [{"kind": "cel", "expr": "calls.map(a, calls.map(b, calls.map(c, 1)))"}],
            },
            "checks",
        ),
        ({"name": "c", "input": "x", "fixtures": [{"tool": "t", "result": {"status": "maybe"}}]}, "fixtures"),
        (
            {
                "name": "c",
                "input": "x",
                "fixtures": [{"tool": "t", "result": {"status": "success"}}] * (MAX_FIXTURES_PER_CASE + 1),
            },
            "fixtures",
        ),
        ({"name": "c", "input": "x", "live_tools": ["x" * 65]}, "live_tools"),
        ({"name": "c", "input": ""}, "input"),
        ({"name": "c", "input": "x", "surprise": 1}, "surprise"),
    ],
)
def test_bad_cases_are_a_422_naming_the_field(admin_api, suite_id, body, field):
    response = admin_api.post(f"/api/v1/evals/suites/{suite_id}/cases", body, content_type=JSON)
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in (error.get("field") or "") or field in error["message"]


def test_unknown_or_out_of_range_ids_are_a_4xx_not_a_500(admin_api, suite_id):
    assert admin_api.get("/api/v1/evals/suites/99999").status_code == 404
    assert admin_api.get("/api/v1/evals/suites/99999999999999999999").status_code == 422
    assert admin_api.get("/api/v1/evals/cases/0").status_code == 422
    assert admin_api.get("/api/v1/evals/runs/not-a-uuid").status_code == 422
    run = admin_api.post(f"/api/v1/evals/suites/{suite_id}/runs", {"version": 7}, content_type=JSON)
    assert run.status_code == 404
    assert run.json()["error"]["field"] == "version"


def test_a_task_becomes_a_case_with_its_input_positional_fixtures_and_its_calls_as_a_set(
    admin, admin_api, suite_id
):
    task = production_task(admin)
    response = admin_api.post(
        f"/api/v1/evals/suites/{suite_id}/cases/from-task", {"task": str(task.pk)}, content_type=JSON
    )
    assert response.status_code == 201, response.content
    case = response.json()
    assert case["name"] == f"from task {task.pk}"
    assert case["input"] == "Refund A-1001"
    assert case["source_task"] == str(task.pk)
    assert case["fixtures"] == [
        {"tool": "lookup_order", "arguments": {"order_id": "A-1001"}, "step": 0, "call": 0, "result": LOOKUP},
        {
            "tool": "issue_refund",
            "arguments": {"order_id": "A-1001", "amount": 49.99},
            "step": 1,
            "call": 0,
            "result": REFUND,
        },
    ]
    [check] = case["checks"]
    assert (check["kind"], check["mode"], check["only"]) == ("tool_calls", "set", True)
    assert [call["tool"] for call in check["calls"]] == ["lookup_order", "issue_refund"]
    # The same task again: the name is taken.
    again = admin_api.post(
        f"/api/v1/evals/suites/{suite_id}/cases/from-task", {"task": str(task.pk)}, content_type=JSON
    )
    assert again.status_code == 409


def test_a_suite_name_is_unique_per_agent_and_edits_are_audited(admin_api, suite_id):
    from approvals.models import AuditEntry

    taken = admin_api.post("/api/v1/evals/suites", {"agent": "support", "name": "refunds"}, content_type=JSON)
    assert taken.status_code == 409
    edited = admin_api.patch(f"/api/v1/evals/suites/{suite_id}", {"required": True}, content_type=JSON)
    assert edited.json()["required"] is True
    entry = AuditEntry.objects.filter(action="eval_suite.updated").get()
    assert (entry.before["required"], entry.after["required"]) == (False, True)
    assert admin_api.delete(f"/api/v1/evals/suites/{suite_id}").status_code == 204
    assert admin_api.get(f"/api/v1/evals/suites/{suite_id}").status_code == 404

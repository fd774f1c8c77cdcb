"""An undo over REST, run by a real worker: a reviewer edited the refund, the reversal follows the edit."""

import pytest

from agents.models import Task
from tests.approvals.undo_support import refund_tools
from tests.factories import make_agent
from tests.support.processes import running_worker, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def status_of(task_id: str) -> str:
    return Task.objects.values_list("status", flat=True).get(pk=task_id)


def approve_the_pending_request(api, *, tool: str, arguments: dict | None = None) -> dict:
    [pending] = api.get("/api/v1/approvals?status=pending").json()["items"]
    assert pending["tool"] == tool
    decision = {"decision": "approve", "version": pending["version"]}
    if arguments is not None:
        decision["arguments"] = arguments
    response = api.post(
        f"/api/v1/approvals/{pending['id']}/decision", decision, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return pending


def test_an_undo_over_rest_runs_in_a_worker_with_the_approved_arguments(
    requester_api, reviewer_api, admin_api, use_simulator, recorder, tmp_path
):
    url, server = recorder
    tools = refund_tools(url, refund_tier="high", reverse_tier="high")
    make_agent("refunder", model="sim/chain?calls=1&tool=issue_refund", tools=list(tools.values()))
    with running_worker(tmp_path, SIMULATOR_URL=use_simulator):
        submitted = requester_api.post(
            "/api/v1/tasks", {"agent": "refunder", "input": "refund it"}, content_type="application/json"
        ).json()
        wait_until(lambda: status_of(submitted["id"]) == "waiting_approval", what="the refund's approval")
        approve_the_pending_request(reviewer_api, tool="issue_refund", arguments={"i": 7})
        wait_until(lambda: status_of(submitted["id"]) == "succeeded", what="the refund")

        actions = f"/api/v1/sessions/{submitted['session']}/actions"
        [refund] = reviewer_api.get(actions).json()["items"]
        assert (refund["tool"], refund["arguments"], refund["state"]) == (
            "issue_refund",
            {"i": 7},
            "executed",
        )
        undo = admin_api.post(
            f"/api/v1/sessions/{submitted['session']}/undo", {}, content_type="application/json"
        )
        assert undo.status_code == 202, undo.content
        undo_task = undo.json()["task"]
        wait_until(lambda: status_of(undo_task) == "waiting_approval", what="the reversal's approval")
        held = approve_the_pending_request(reviewer_api, tool="reverse_refund")
        assert held["arguments"] == {"amount": 7, "refund_id": "re_1"}
        wait_until(lambda: status_of(undo_task) == "succeeded", what="the undo task")

    listed = reviewer_api.get(actions).json()
    assert [(item["tool"], item["state"]) for item in listed["items"]] == [
        ("issue_refund", "undone"),
        ("reverse_refund", "compensation"),
    ]
    assert listed["items"][0]["undo"]["requested_by"] == "admin"
    assert [body for path, body, _ in server.requests] == [{"i": 7}, {"refund_id": "re_1", "amount": 7}]

"""A call to a tool that ignores Idempotency-Key is sent at most once, even when its worker is
SIGKILLed mid-call; a person records what happened, and the model is told only that.

The tool server here does not deduplicate: every request it receives has its effect, and the
tests count the requests it received."""

import json

import pytest

from agents.models import Task, ToolDispatch
from approvals.models import ActionRequest, AuditEntry
from tests.factories import make_agent, make_http_tool
from tests.support.processes import running_worker, start_worker, wait_until
from tests.support.toolserver import running_tool_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def fast_recovery(simulator_url: str) -> dict[str, str]:
    return {
        "SIMULATOR_URL": simulator_url,
        "TASK_LEASE_S": "2",
        "CELERY_VISIBILITY_TIMEOUT_S": "2",
        "CELERY_RESTORE_INTERVAL_S": "1",
    }


def kill_mid_call(tmp_path, env: dict[str, str], server, start) -> None:
    """Start a worker, run `start()`, SIGKILL the worker while the tool holds its answer."""
    worker = start_worker(tmp_path, **env)
    try:
        start()
        assert server.received.wait(60), worker.output()
        worker.kill()
    finally:
        worker.stop()


def tool_messages(task_id: str) -> list[dict]:
    task = Task.objects.get(pk=task_id)
    return [message for message in task.messages if message.get("role") == "tool"]


def test_a_write_in_flight_when_its_worker_dies_is_never_sent_again_and_a_person_records_it(
    requester_api, reviewer_api, use_simulator, tmp_path
):
    # A low-tier POST: no approval before it runs, and the tool ignores keys.
    with running_tool_server(hold_first_s=8, deduplicate=False) as (url, server):
        make_agent(
            "chainer", model="sim/chain?calls=1&tool=refund_tool", tools=[make_http_tool("refund_tool", url)]
        )
        env = fast_recovery(use_simulator)
        task_id = ""

        def submit() -> None:
            nonlocal task_id
            response = requester_api.post(
                "/api/v1/tasks", {"agent": "chainer", "input": "refund it"}, content_type="application/json"
            )
            task_id = response.json()["id"]

        kill_mid_call(tmp_path, env, server, submit)
        assert ToolDispatch.objects.get().status == ToolDispatch.Status.IN_FLIGHT

        with running_worker(tmp_path, **env) as second:
            wait_until(
                lambda: Task.objects.get(pk=task_id).status == Task.Status.WAITING_APPROVAL,
                what=f"the task to wait for a person\n{second.output()}",
            )
            request = ActionRequest.objects.get()
            assert request.status == ActionRequest.Status.OUTCOME_UNKNOWN
            assert request.sent_request["method"] == "POST"
            assert request.sent_request["url"] == url
            assert request.sent_request["idempotency_key"] == server.keys_seen[0]
            # Shown to reviewers, with the request that was sent.
            queued = reviewer_api.get("/api/v1/approvals?status=outcome_unknown").json()["items"]
            assert [item["sent_request"] for item in queued] == [request.sent_request]
            assert server.requests == 1
            assert tool_messages(task_id) == []  # the model has been told nothing yet

            response = reviewer_api.post(
                f"/api/v1/approvals/{request.id}/outcome",
                {"done": True, "result": {"refund_id": "r1"}, "note": "the shop confirms refund r1"},
                content_type="application/json",
            )
            assert response.status_code == 200, response.content
            assert response.json()["status"] == "executed"
            wait_until(
                lambda: Task.objects.get(pk=task_id).status == Task.Status.SUCCEEDED,
                what=f"the task to finish\n{second.output()}",
            )

    assert server.requests == 1  # the SIGKILL and the redelivery sent nothing more
    assert server.side_effects == 1
    [told] = tool_messages(task_id)
    content = json.loads(told["content"])
    assert content["status"] == "success"
    assert content["data"] == {"refund_id": "r1"}
    assert "recorded that the call took effect" in content["message"]
    entry = AuditEntry.objects.get(action="request.outcome_recorded")
    assert entry.object_id == str(request.id)


def test_an_approved_write_whose_worker_died_is_recorded_not_done_and_the_model_is_told_only_that(
    requester_api, reviewer_api, use_simulator, tmp_path
):
    with running_tool_server(hold_first_s=8, deduplicate=False) as (url, server):
        make_agent(
            "chainer",
            model="sim/chain?calls=1&tool=refund_tool",
            tools=[make_http_tool("refund_tool", url, risk_tier="high")],
        )
        env = fast_recovery(use_simulator)
        response = requester_api.post(
            "/api/v1/tasks", {"agent": "chainer", "input": "refund it"}, content_type="application/json"
        )
        task_id = response.json()["id"]

        def approve() -> None:
            wait_until(
                lambda: Task.objects.get(pk=task_id).status == Task.Status.WAITING_APPROVAL,
                what="the approval request",
            )
            pending = ActionRequest.objects.get()
            answer = reviewer_api.post(
                f"/api/v1/approvals/{pending.id}/decision",
                {"decision": "approve"},
                content_type="application/json",
            )
            assert answer.status_code == 200, answer.content

        kill_mid_call(tmp_path, env, server, approve)
        assert ActionRequest.objects.get().status == ActionRequest.Status.EXECUTING

        with running_worker(tmp_path, **env) as second:
            request = wait_until(
                lambda: ActionRequest.objects.filter(status=ActionRequest.Status.OUTCOME_UNKNOWN).first(),
                what=f"outcome_unknown\n{second.output()}",
            )
            wait_until(
                lambda: Task.objects.get(pk=task_id).status == Task.Status.WAITING_APPROVAL,
                what=f"the task to park\n{second.output()}",
            )
            assert server.requests == 1
            response = reviewer_api.post(
                f"/api/v1/approvals/{request.id}/outcome",
                {"done": False, "note": "the shop has no such refund"},
                content_type="application/json",
            )
            assert response.status_code == 200, response.content
            wait_until(
                lambda: Task.objects.get(pk=task_id).is_final, what=f"the task to end\n{second.output()}"
            )

    assert server.requests == 1
    [told] = tool_messages(task_id)
    content = json.loads(told["content"])
    assert content["status"] == "error"
    assert content["data"]["outcome"] == "not_done"
    assert "recorded that it did not happen" in content["message"]
    assert "the shop has no such refund" in content["message"]

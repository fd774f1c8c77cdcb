"""Tasks submitted over REST and run by real Celery worker processes."""

import time
from decimal import Decimal

import pytest

from agents.models import Step, Task
from tests.factories import make_agent, make_http_tool
from tests.support.processes import running_worker, start_worker
from tests.support.toolserver import running_tool_server
from tracing.models import Span

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def wait_for_end(client, task_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/tasks/{task_id}").json()
        if body["status"] in {"succeeded", "failed", "halted", "cancelled"}:
            return body
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} did not end in {timeout}s: {body}")


def test_a_task_submitted_over_rest_runs_in_a_worker_and_calls_the_http_tool(
    requester_api, use_simulator, tool_server, tmp_path
):
    url, server = tool_server
    make_agent(
        "chainer", model="sim/chain?calls=2&tool=refund_tool", tools=[make_http_tool("refund_tool", url)]
    )

    with running_worker(tmp_path, SIMULATOR_URL=use_simulator):
        response = requester_api.post(
            "/api/v1/tasks", {"agent": "chainer", "input": "refund both"}, content_type="application/json"
        )
        assert response.status_code == 202, response.content
        body = wait_for_end(requester_api, response.json()["id"])

    assert body["status"] == "succeeded"
    assert body["result"] == "Done: called refund_tool 2 times."
    assert server.requests == 2
    assert server.side_effects == 2
    trace = requester_api.get(f"/api/v1/tasks/{body['id']}/trace").json()
    kinds = sorted(span["kind"] for span in trace["spans"])
    assert kinds == ["agent", "model", "model", "model", "tool", "tool"]
    assert int(body["usage"]["input_tokens"]) > 0
    assert Decimal(body["usage"]["cost_usd"]) > 0


def test_a_worker_killed_mid_step_loses_nothing_and_repeats_no_side_effect(
    requester_api, simulator_url, sim_priced, tmp_path
):
    # The tool applies its effect, then holds the reply long enough for the worker to be killed.
    with running_tool_server(hold_first_s=8) as (url, server):
        tool = make_http_tool("refund_tool", url, honours_idempotency_key=True)
        make_agent("chainer", model="sim/chain?calls=1&tool=refund_tool", tools=[tool])
        fast_recovery = {
            "SIMULATOR_URL": simulator_url,
            "TASK_LEASE_S": "2",
            "CELERY_VISIBILITY_TIMEOUT_S": "2",
            "CELERY_RESTORE_INTERVAL_S": "1",
        }
        first = start_worker(tmp_path, **fast_recovery)
        try:
            response = requester_api.post(
                "/api/v1/tasks", {"agent": "chainer", "input": "refund it"}, content_type="application/json"
            )
            task_id = response.json()["id"]
            assert server.received.wait(30), first.output()
            first.kill()
        finally:
            first.stop()
        assert Task.objects.get(pk=task_id).status == Task.Status.RUNNING

        with running_worker(tmp_path, **fast_recovery) as second:
            body = wait_for_end(requester_api, task_id)
            assert body["status"] == "succeeded", second.output()

    assert server.side_effects == 1
    assert server.requests == 2  # the redelivered step replayed the call with the same key
    assert len(set(server.keys_seen)) == 1
    assert list(Step.objects.filter(task_id=task_id).values_list("index", flat=True)) == [0, 1]
    # The model was asked once for step 0: the redelivery reused its stored reply.
    assert Span.objects.filter(trace__task_id=task_id, kind="model", step_index=0).count() == 1

"""Each waiting tier end to end over REST with real worker (and beat) processes."""

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from agents.models import Task
from approvals.models import ActionRequest
from tests.factories import make_agent, make_http_tool
from tests.support.processes import BIN, ROOT, child_env, running_worker, start_worker, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@contextmanager
def running_beat(tmp_path: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    log = tmp_path / f"beat-{time.monotonic_ns()}.log"
    process = subprocess.Popen(
        [str(BIN / "celery"), "-A", "console", "beat", "--loglevel=INFO", "-s", str(tmp_path / "schedule")],
        cwd=ROOT,
        env=child_env(**env),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def task_status(task_id: str) -> str:
    return Task.objects.values_list("status", flat=True).get(pk=task_id)


def submit(client) -> str:
    response = client.post(
        "/api/v1/tasks", {"agent": "chainer", "input": "refund it"}, content_type="application/json"
    )
    assert response.status_code == 202, response.content
    return response.json()["id"]


def test_a_high_action_waits_for_a_rest_approval_then_the_task_completes(
    requester_api, reviewer_api, use_simulator, tool_server, tmp_path
):
    url, server = tool_server
    make_agent(
        "chainer",
        model="sim/chain?calls=1&tool=refund_tool",
        tools=[make_http_tool("refund_tool", url, risk_tier="high")],
    )
    with running_worker(tmp_path, SIMULATOR_URL=use_simulator):
        task_id = submit(requester_api)
        wait_until(lambda: task_status(task_id) == "waiting_approval", what="waiting_approval")
        queue = reviewer_api.get("/api/v1/approvals?status=pending").json()["items"]
        assert [item["task"] for item in queue] == [task_id]
        assert server.requests == 0

        response = reviewer_api.post(
            f"/api/v1/approvals/{queue[0]['id']}/decision",
            {"decision": "approve", "comment": "looks right"},
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
        wait_until(lambda: task_status(task_id) == "succeeded", what="the task to finish")
    assert server.side_effects == 1
    assert ActionRequest.objects.get().status == "executed"
    assert reviewer_api.get("/api/v1/approvals?status=pending").json()["items"] == []


def test_a_medium_auto_send_survives_a_restart_of_worker_and_beat(
    requester_api, admin, use_simulator, tool_server, tmp_path
):
    url, server = tool_server
    tool = make_http_tool("refund_tool", url, risk_tier="medium")
    make_agent("chainer", model="sim/chain?calls=1&tool=refund_tool", tools=[tool])
    from approvals.policy.services import policy_rule_create

    policy_rule_create(actor=admin, tool="refund_tool", tier="medium", delay_s=3)
    env = {"SIMULATOR_URL": use_simulator, "APPROVALS_SWEEP_S": "0.5"}

    worker = start_worker(tmp_path, **env)
    with running_beat(tmp_path, **env):
        task_id = submit(requester_api)
        wait_until(lambda: task_status(task_id) == "waiting_approval", what="waiting_approval")
    # Everything goes down before the deadline; the ETA message dies with the worker.
    worker.kill()
    request = ActionRequest.objects.get()
    assert request.status == "pending"
    time.sleep(3.5)  # the deadline passes while nothing runs
    assert ActionRequest.objects.get().status == "pending"

    with running_worker(tmp_path, **env), running_beat(tmp_path, **env):
        wait_until(lambda: task_status(task_id) == "succeeded", what="the auto-send after restart")
    request.refresh_from_db()
    assert request.status == "executed"
    assert request.decided_by is None
    assert server.side_effects == 1

"""/metrics: who may scrape it, and what a run records (in this process and in a real worker)."""

import re
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from agents.models import Task
from agents.runtime.loop import task_steps_run
from agents.services.tasks import task_submit
from approvals.services import action_request_decide
from core import clock
from tests.approvals.conftest import make_request
from tests.factories import make_agent, make_http_tool
from tests.support.processes import running_worker


def _scrape(client: Client, **headers: str) -> str:
    response = client.get(reverse("tracing:metrics"), headers=headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample; 0 when the series does not exist yet."""
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)\{(.*)\} (\S+)", line)
        if not match or match[1] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match[2]))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(match[3])
    return 0.0


@pytest.mark.django_db
def test_callers_outside_the_allowed_networks_need_the_bearer_token(settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    settings.METRICS_TOKEN = "scrape-secret"
    client = Client(REMOTE_ADDR="192.0.2.7")

    assert client.get(reverse("tracing:metrics")).status_code == 403
    assert (
        client.get(reverse("tracing:metrics"), headers={"Authorization": "Bearer wrong"}).status_code == 403
    )
    assert "tollgate_approval_queue_depth" in _scrape(client, Authorization="Bearer scrape-secret")
    assert _scrape(Client(REMOTE_ADDR="10.1.2.3"))


@pytest.mark.django_db
def test_without_a_token_only_the_allowed_networks_may_scrape(settings):
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.METRICS_TOKEN = ""

    assert Client(REMOTE_ADDR="192.0.2.7").get(reverse("tracing:metrics")).status_code == 403
    assert (
        Client(REMOTE_ADDR="192.0.2.7")
        .get(reverse("tracing:metrics"), headers={"Authorization": "Bearer "})
        .status_code
        == 403
    )
    assert _scrape(Client())


@pytest.mark.django_db(transaction=True)
def test_a_run_records_model_calls_tokens_cost_tool_calls_and_durations(
    requester, use_simulator, tool_server
):
    url, _ = tool_server
    make_agent(
        "metered", model="sim/chain?calls=2&tool=metered_tool", tools=[make_http_tool("metered_tool", url)]
    )
    before = _scrape(Client())
    task, _ = task_submit(owner=requester, agent_name="metered", input="go")

    task_steps_run(task_id=task.id, max_steps=50, max_seconds=60)

    task.refresh_from_db()
    after = _scrape(Client())

    def delta(name: str, **labels: str) -> float:
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    assert delta("tollgate_model_calls_total", model="chain", agent="metered", status="ok") == 3
    assert (
        delta("tollgate_model_tokens_total", model="chain", agent="metered", type="input")
        == task.input_tokens
    )
    assert (
        delta("tollgate_model_tokens_total", model="chain", agent="metered", type="output")
        == task.output_tokens
    )
    assert delta("tollgate_model_cost_usd_total", model="chain", agent="metered") == pytest.approx(
        float(task.cost_usd)
    )
    assert delta("tollgate_tool_calls_total", tool="metered_tool", status="ok", error_type="") == 2
    assert delta("tollgate_step_duration_seconds_count", agent="metered") == 3
    assert delta("tollgate_task_duration_seconds_count", agent="metered", status="succeeded") == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_what_a_worker_process_records_is_visible_at_metrics(tmp_path, requester, use_simulator, tool_server):
    url, _ = tool_server
    make_agent("worker-metered", model="sim/chain?calls=1&tool=w_tool", tools=[make_http_tool("w_tool", url)])

    with running_worker(tmp_path, SIMULATOR_URL=use_simulator):
        task, _ = task_submit(owner=requester, agent_name="worker-metered", input="go")
        deadline = time.monotonic() + 30
        while not Task.objects.get(pk=task.pk).is_final:
            assert time.monotonic() < deadline, "the worker did not finish the task"
            time.sleep(0.1)
        # The task's end is recorded just after its final commit, which the loop above sees.
        finished = {"agent": "worker-metered", "status": "succeeded"}
        while not _sample(text := _scrape(Client()), "tollgate_task_duration_seconds_count", **finished):
            assert time.monotonic() < deadline, text
            time.sleep(0.1)

    assert _sample(text, "tollgate_model_calls_total", agent="worker-metered", status="ok") == 2
    assert _sample(text, "tollgate_tool_calls_total", tool="w_tool", status="ok") == 1
    assert (
        _sample(text, "tollgate_task_duration_seconds_count", agent="worker-metered", status="succeeded") == 1
    )


@pytest.mark.django_db
def test_a_decision_records_the_time_it_took_by_tier_and_outcome(
    client, settings, requester, reviewer, django_capture_on_commit_callbacks
):
    settings.METRICS_TOKEN = "scrape-me"
    created = clock.now() - timedelta(seconds=42)
    request = make_request(requester, tier="high", created_at=created)
    before = _scrape(client, Authorization="Bearer scrape-me")
    series = "tollgate_approval_time_to_decision_seconds_count"

    with django_capture_on_commit_callbacks(execute=True):
        action_request_decide(action_request=request, actor=reviewer, decision="reject", comment="no")

    after = _scrape(client, Authorization="Bearer scrape-me")
    labels = {"tier": "high", "outcome": "rejected"}
    assert _sample(after, series, **labels) == _sample(before, series, **labels) + 1
    # 42 s lands in the (30, 60] bucket: the "60" bucket grew, the "30" one did not.
    bucket = "tollgate_approval_time_to_decision_seconds_bucket"
    assert _sample(after, bucket, le="60.0", **labels) == _sample(before, bucket, le="60.0", **labels) + 1
    assert _sample(after, bucket, le="30.0", **labels) == _sample(before, bucket, le="30.0", **labels)

"""A running task's waterfall grows in a real browser, pushed over the Channels WebSocket.

Everything is real: uvicorn serving the ASGI app (HTTP and WebSocket), a Celery worker, the
simulator answering each model call after 700 ms, an HTTP tool, and Redis as the channel layer.
"""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from agents.models import Task
from agents.services.tasks import task_submit
from tests.factories import make_agent, make_http_tool
from tests.support.processes import running_worker

pytestmark = [pytest.mark.browser, pytest.mark.worker]

STEPS = 5  # four tool calls, then the answer


@pytest.fixture
def requester(transactional_db) -> User:
    return User.objects.create_user("requester", password="requester-pass")


def test_the_waterfall_grows_while_the_task_runs(web_page, requester, tmp_path, request):
    page = web_page
    simulator = request.getfixturevalue("use_simulator")
    url, _ = request.getfixturevalue("tool_server")
    make_agent(
        "slow-bot", model=f"sim/slow_chain?calls={STEPS - 1}", tools=[make_http_tool("slow_tool", url)]
    )
    pushes: list[str] = []
    row_fetches: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: pushes.append(str(frame))))
    page.on(
        "request", lambda request: row_fetches.append(request.url) if "/trace/rows/" in request.url else None
    )
    summary_fetches: list[str] = []
    page.on(
        "request", lambda request: summary_fetches.append(request.url) if "/live/" in request.url else None
    )
    page.goto("/login/")
    page.get_by_label("Username").fill("requester")
    page.get_by_label("Password").fill("requester-pass")
    page.get_by_role("button", name="Log in").click()
    task, _ = task_submit(owner=requester, agent_name="slow-bot", input="go")
    rows = page.locator("#waterfall tr.span-row")

    with running_worker(tmp_path, SIMULATOR_URL=simulator):
        page.goto(f"/tasks/{task.id}/")
        expect(page.locator("html[data-trace-socket=open]")).to_have_count(1)
        summary_fetches.clear()  # a poll may have gone out before the socket opened

        # Spans of the first steps show while later steps are still to come.
        expect(rows.filter(has_text="execute_tool slow_tool")).to_have_count(2, timeout=20_000)
        assert Task.objects.get(pk=task.pk).status == Task.Status.RUNNING
        assert rows.filter(has_text="chat slow_chain").count() < STEPS

        # And it keeps growing to the end: every model call, every tool call, then the root span.
        expect(rows.filter(has_text="chat slow_chain")).to_have_count(STEPS, timeout=30_000)
        expect(rows.filter(has_text="execute_tool slow_tool")).to_have_count(STEPS - 1)
        expect(rows.filter(has_text="invoke_agent slow-bot")).to_have_count(1, timeout=10_000)
        # The summary above the waterfall followed the pushes, without a poll of its own.
        expect(page.locator(".badge.status-succeeded")).to_be_visible(timeout=10_000)

    assert Task.objects.get(pk=task.pk).status == Task.Status.SUCCEEDED
    assert any("spans_added" in push for push in pushes)
    assert any('"finished": true' in push for push in pushes)
    assert row_fetches, "the page fetched no rows after a push"
    spans_pushes = [push for push in pushes if "spans_added" in push]
    assert 0 < len(summary_fetches) <= len(spans_pushes), "the summary was polled while the socket was up"
    assert all(re.search(rf"/tasks/{task.id}/trace/rows/", fetched) for fetched in row_fetches)

"""The session page's Executed actions panel in a real browser: a reviewer undoes all, after confirming."""

import re

import pytest
from playwright.sync_api import Page, expect

from agents.models import Task
from approvals.models import ActionUndo
from tests.approvals.conftest import make_reviewer, run, submit
from tests.approvals.undo_support import Recorder, recording_tool_server, refund_tools
from tests.factories import make_agent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_undoes_every_refund_of_a_session_after_confirming(page: Page, requester, use_simulator):
    with recording_tool_server() as (url, server):
        undo_all_in_the_browser(page, requester, url, server)


def undo_all_in_the_browser(page: Page, requester, url: str, server: Recorder) -> None:
    tools = refund_tools(url)
    make_agent("refunder", model="sim/chain?calls=2&tool=issue_refund", tools=list(tools.values()))
    task = submit(requester, "refunder")
    run(task)
    make_reviewer("undoer")
    path = f"/sessions/{task.session_id}/"
    page.goto(path)
    page.get_by_label("Username").fill("undoer")
    page.get_by_label("Password").fill("undoer-pass")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))

    rows = page.locator("#executed-actions tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-state", "executed")
    expect(page.get_by_role("button", name="Undo", exact=True)).to_have_count(2)
    # Undo all needs its box ticked: the browser refuses the form without it.
    page.get_by_role("button", name="Undo all").click()
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    assert ActionUndo.objects.count() == 0
    page.get_by_label(re.compile("Run the compensations of all 2 reversible actions")).check()
    page.get_by_role("button", name="Undo all").click()
    expect(page.locator(".messages")).to_contain_text("runs 2 compensations")
    expect(page.locator("#executed-actions tbody tr[data-state=undoing]")).to_have_count(2)
    expect(page.locator("#undo-all")).to_have_count(0)
    assert ActionUndo.objects.count() == 2
    assert Task.objects.filter(session=task.session).count() == 2
    assert server.reversals() == []  # the undo task runs in a worker, under the policy

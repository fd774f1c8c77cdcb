"""The approval queue in a real browser, served by uvicorn (HTTP and WebSocket) with a real worker."""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from playwright.sync_api import Page, expect

from agents.models import Task
from approvals.live import action_request_publish
from approvals.models import ActionRequest
from approvals.services import action_request_decide
from tests.approvals.conftest import make_request, make_reviewer
from tests.factories import make_agent, make_http_tool
from tests.support.processes import running_worker

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

HOSTILE = "<img src=x onerror=alert(1)>"
EDITED = {"i": "A-1003", "amount": 249}


def log_in(page: Page, name: str, path: str) -> None:
    page.goto(path)
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(f"{name}-pass")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))


def wait_status(task_id: str, status: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while Task.objects.values_list("status", flat=True).get(pk=task_id) != status:
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} never reached {status}")
        time.sleep(0.1)


def publish_created(request_id) -> None:
    try:
        action_request_publish(request_id=request_id, event="created")
    finally:
        connection.close()


def submit(client) -> str:
    # Playwright's sync API keeps an event loop running in this thread, and the API's views are
    # async (console/api_threads.py), which Django's test client may not run from such a thread.
    def post():
        try:
            return client.post(
                "/api/v1/tasks", {"agent": "chainer", "input": "refund it"}, content_type="application/json"
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        response = pool.submit(post).result()
    assert response.status_code == 202, response.content
    return response.json()["id"]


def test_a_reviewer_sees_a_new_request_arrive_live_and_approves_it_with_the_keyboard(
    web_page, dialogs, requester_api, reviewer, use_simulator, tool_server, tmp_path
):
    url, server = tool_server
    make_agent(
        "chainer",
        model="sim/chain?calls=1&tool=refund_tool",
        tools=[make_http_tool("refund_tool", url, risk_tier="high")],
    )
    with running_worker(tmp_path, SIMULATOR_URL=use_simulator):
        log_in(web_page, "reviewer", "/approvals/")
        expect(web_page.locator("#live-state")).to_have_text("live")
        expect(web_page.locator("#queue-count")).to_have_text("0 pending")

        task_id = submit(requester_api)
        row = web_page.locator("#queue-rows tr[data-id]")
        expect(row).to_have_count(1)  # arrived without a reload
        expect(row.first).to_contain_text("refund_tool")
        expect(web_page.locator("#detail-input")).to_have_text("refund it")

        web_page.keyboard.press("j")
        web_page.keyboard.press("a")
        expect(row).to_have_count(0)
        wait_status(task_id, "succeeded")
    assert server.side_effects == 1
    assert dialogs == []


def test_an_admin_raises_a_tools_tier_and_the_next_call_waits_for_approval(
    web_page, requester_api, admin, use_simulator, tool_server, tmp_path
):
    admin.set_password("admin-pass")
    admin.save()
    url, server = tool_server
    make_agent(
        "chainer", model="sim/chain?calls=1&tool=refund_tool", tools=[make_http_tool("refund_tool", url)]
    )
    log_in(web_page, "admin", "/approvals/tools/")
    web_page.get_by_label("tier of refund_tool").select_option("high")
    web_page.locator("tr[data-tool=refund_tool]").get_by_role("button", name="Save").click()
    expect(web_page.locator(".messages")).to_contain_text("refund_tool is now high")

    with running_worker(tmp_path, SIMULATOR_URL=use_simulator):
        task_id = submit(requester_api)
        wait_status(task_id, "waiting_approval")
    assert server.requests == 0
    assert ActionRequest.objects.get().tier == "high"


def test_a_hostile_argument_renders_as_text_initially_and_when_pushed(web_page, dialogs, requester, reviewer):
    make_request(requester, arguments={"note": HOSTILE}, reasoning=HOSTILE)
    log_in(web_page, "reviewer", "/approvals/")
    expect(web_page.locator("#live-state")).to_have_text("live")
    expect(web_page.locator("#queue-rows pre.args").first).to_contain_text(HOSTILE)
    expect(web_page.locator("#detail-reasoning")).to_have_text(HOSTILE)

    second = make_request(requester, call_index=1, arguments={"note": HOSTILE + "2"})
    # Playwright's event loop owns this thread; the push goes out from another, as from a worker.
    pusher = threading.Thread(
        target=action_request_publish, kwargs={"request_id": second.id, "event": "created"}
    )
    pusher.start()
    pusher.join()
    expect(web_page.locator("#queue-rows tr[data-id]")).to_have_count(2)
    expect(web_page.locator(f"#queue-rows tr[data-id='{second.id}'] pre.args")).to_contain_text(HOSTILE + "2")
    assert web_page.locator("#queue-rows img").count() == 0
    assert dialogs == []


def _edit_in_another_browser(request_id, editor) -> None:
    """Reviewer A edits and approves (1 of 2), as from another browser: the push follows the commit."""
    try:
        action_request_decide(
            action_request=ActionRequest.objects.get(pk=request_id),
            actor=editor,
            decision="approve",
            arguments=EDITED,
        )
    finally:
        connection.close()


def test_a_changed_push_shows_the_new_arguments_before_the_reviewer_can_approve_them(
    web_page, dialogs, requester, reviewer
):
    make_http_tool("refund_tool", "http://127.0.0.1:9/")
    request = make_request(requester, approvals_required=2)
    editor = make_reviewer("editor")
    log_in(web_page, "reviewer", "/approvals/")
    expect(web_page.locator("#live-state")).to_have_text("live")
    row = web_page.locator(f"#queue-rows tr[data-id='{request.id}']")
    expect(row.locator("pre.args")).to_contain_text('"i": 1')

    editing = threading.Thread(target=_edit_in_another_browser, args=(request.id, editor))
    editing.start()
    editing.join()
    expect(row.locator("pre.args")).to_contain_text("A-1003")
    expect(row).to_have_class(re.compile(r"\bchanged\b"))
    expect(row.locator(".changed-badge")).to_have_text("changed")
    expect(web_page.locator("#detail-changed")).to_contain_text("version 2 (you saw version 1)")
    expect(web_page.locator("#detail-args")).to_contain_text("249")

    web_page.keyboard.press("a")  # the first press only points at the change
    expect(web_page.locator("#queue-status")).to_contain_text("read them, then press a again")
    assert ActionRequest.objects.get(pk=request.id).status == "pending"
    web_page.keyboard.press("a")
    expect(row).to_have_count(0)
    request.refresh_from_db()
    assert (request.status, request.version) == ("approved", 2)
    assert set(request.votes.values_list("reviewer__username", "version")) == {("editor", 2), ("reviewer", 2)}
    assert dialogs == []


def test_approving_a_stale_card_is_refused_and_the_card_shows_the_current_version(
    web_page, dialogs, requester, reviewer
):
    request = make_request(requester)
    log_in(web_page, "reviewer", "/approvals/")
    expect(web_page.locator("#live-state")).to_have_text("live")
    row = web_page.locator(f"#queue-rows tr[data-id='{request.id}']")
    expect(row.locator("pre.args")).to_contain_text('"i": 1')
    # Changed behind the page's back (its push lost): the card still shows version 1.
    ActionRequest.objects.filter(pk=request.pk).update(version=2, arguments=EDITED)

    web_page.keyboard.press("a")
    status = web_page.locator("#queue-status")
    expect(status).to_contain_text("Not approved: the request changed to version 2 since you looked")
    expect(status).to_have_class(re.compile(r"\berror\b"))
    expect(row.locator("pre.args")).to_contain_text("A-1003")
    expect(web_page.locator("#detail-title")).to_contain_text("v2")
    expect(web_page.locator("#detail-changed")).to_contain_text("version 2 (you saw version 1)")
    assert ActionRequest.objects.get(pk=request.pk).status == "pending"

    web_page.keyboard.press("a")
    expect(row).to_have_count(0)
    assert ActionRequest.objects.get(pk=request.pk).status == "approved"


def test_a_reviewer_sees_why_a_failing_condition_raised_the_tier(web_page, dialogs, requester, reviewer):
    error = f"rule 7: KeyError: '{HOSTILE}'"
    make_request(requester, rule_snapshot={"condition_errors": [error]})
    log_in(web_page, "reviewer", "/approvals/")
    expect(web_page.locator("#detail-policy")).to_contain_text(
        f"Raised to at least high because a condition failed: {error}"
    )
    assert web_page.locator("#detail img").count() == 0
    assert dialogs == []


def test_a_call_whose_outcome_is_unknown_shows_the_request_sent_and_a_person_records_it(
    web_page, requester, reviewer
):
    sent = {
        "method": "POST",
        "url": "http://127.0.0.1:9/refund",
        "arguments": {"i": HOSTILE},
        "idempotency_key": "k",
    }
    request = make_request(requester, status=ActionRequest.Status.OUTCOME_UNKNOWN, sent_request=sent)

    log_in(web_page, "reviewer", "/approvals/")
    expect(web_page.locator("#queue-rows tr[data-id]")).to_have_count(1)
    expect(web_page.locator("#queue-rows .countdown")).to_have_text("outcome unknown")
    outcome = web_page.locator("#detail-outcome")
    expect(outcome).to_be_visible()
    expect(web_page.locator("#detail-sent")).to_contain_text(HOSTILE)  # as text, never markup
    web_page.locator("#outcome-note").fill("the shop has no such refund")
    web_page.get_by_role("button", name="It did not happen").click()

    expect(web_page.locator("#queue-status")).to_contain_text("recorded as not done")
    expect(web_page.locator("#queue-rows tr[data-id]")).to_have_count(0)
    request.refresh_from_db()
    assert (request.status, request.outcome_note) == ("not_done", "the shop has no such refund")
    assert Task.objects.get(pk=request.task_id).status == Task.Status.QUEUED


def test_a_critical_request_is_closed_as_done_by_a_person_from_its_card(web_page, requester, reviewer):
    request = make_request(requester, tier="critical")
    prompts: list[str] = []

    def answer(dialog) -> None:
        prompts.append(dialog.message)
        dialog.accept("Deleted the account in the CRM.")

    web_page.on("dialog", answer)
    log_in(web_page, "reviewer", "/approvals/")
    expect(web_page.locator("#queue-rows tr[data-id]")).to_have_count(1)

    web_page.get_by_role("button", name="Done by a person…").click()

    expect(web_page.locator("#queue-rows tr[data-id]")).to_have_count(0)
    request.refresh_from_db()
    assert (request.status, request.decision_comment) == ("done", "Deleted the account in the CRM.")
    assert len(prompts) == 1
    assert "audited" in prompts[0]

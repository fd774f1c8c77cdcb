"""The console's main paths in a real browser: log in, submit a task, read it, cancel it."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from agents.models import Agent, Task
from tests.factories import make_agent

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)> and <script>alert(2)</script>"
TASK_URL = re.compile(r"/tasks/[0-9a-f-]{36}/$")


@pytest.fixture
def requester(transactional_db) -> User:
    return User.objects.create_user("requester", password="requester-pass")


@pytest.fixture
def agent(transactional_db) -> Agent:
    return make_agent("support-bot", model="sim/refund")


@pytest.fixture
def dialogs(page: Page) -> list[str]:
    """Messages of every alert/confirm the page opens: an escaped page opens none."""
    opened: list[str] = []

    def record(dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return opened


def _log_in(page: Page) -> None:
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill("requester")
    page.get_by_label("Password").fill("requester-pass")
    page.get_by_role("button", name="Log in").click()


def _submit(page: Page, text: str) -> Task:
    page.get_by_label("Agent").select_option("support-bot")
    page.get_by_label("Input").fill(text)
    page.get_by_role("button", name="Submit task").click()
    expect(page).to_have_url(TASK_URL)
    return Task.objects.get(pk=page.url.rstrip("/").rsplit("/", 1)[1])


def test_submitted_hostile_input_shows_as_text_on_the_task_page(page, requester, agent, dialogs):
    page.goto("/tasks/new/")
    _log_in(page)
    expect(page.get_by_role("heading", name="New task")).to_be_visible()

    task = _submit(page, HOSTILE)

    assert (task.owner, task.input) == (requester, HOSTILE)
    expect(page.locator("pre.input")).to_have_text(HOSTILE)
    expect(page.get_by_text(HOSTILE)).to_be_visible()
    expect(page.locator(".badge.status-queued")).to_be_visible()
    assert page.locator("#task-body img, #task-body script").count() == 0
    assert dialogs == []


def test_task_page_follows_the_task_until_it_ends(page, requester, agent, dialogs):
    page.goto("/tasks/new/")
    _log_in(page)
    task = _submit(page, "Where is order 42?")
    expect(page.get_by_text("updating live")).to_be_visible()

    # What a worker would write when it finishes; the page (whose trace socket cannot open on this
    # WSGI test server) polls and shows it without a reload.
    Task.objects.filter(pk=task.pk).update(status=Task.Status.SUCCEEDED, result=f"Done: {HOSTILE}")

    expect(page.locator(".badge.status-succeeded")).to_be_visible(timeout=8_000)
    expect(page.locator("pre.result")).to_have_text(f"Done: {HOSTILE}")
    expect(page.get_by_text("updating live")).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel task")).to_have_count(0)
    assert dialogs == []


def test_owner_cancels_a_queued_task_and_finds_it_in_the_sessions_list(page, requester, agent):
    page.goto("/")
    _log_in(page)
    expect(page.get_by_role("heading", name="Sessions")).to_be_visible()
    page.get_by_role("link", name="New task").first.click()
    task = _submit(page, "cancel me")

    page.get_by_role("button", name="Cancel task").click()

    expect(page.get_by_text("Task cancelled.")).to_be_visible()
    expect(page.locator(".badge.status-cancelled")).to_be_visible()
    task.refresh_from_db()
    assert task.status == Task.Status.CANCELLED
    page.get_by_role("link", name="Sessions").first.click()
    row = page.locator("table.grid tbody tr").filter(has_text="support-bot")
    expect(row).to_have_count(1)
    expect(row.locator(".badge.status-cancelled")).to_be_visible()

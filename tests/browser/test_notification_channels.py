"""The notification channels page in a real browser, by keyboard: an admin sets a group's
channels, sends a test, and the secrets never reach the page."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from notifications.models import GroupChannels
from tests.notifications.conftest import BOT_TOKEN
from tests.notifications.fakes import fake_slack

pytestmark = pytest.mark.browser


@pytest.fixture
def admin(transactional_db) -> User:
    return User.objects.create_user("admin", password="admin-pass", is_staff=True, is_superuser=True)


def test_an_admin_sets_a_groups_channels_by_keyboard_and_sends_a_test(page: Page, admin, settings):
    with fake_slack() as (url, slack):
        settings.SLACK_API_URL, settings.SLACK_BOT_TOKEN = url, BOT_TOKEN
        page.goto("/")
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill("admin-pass")
        page.keyboard.press("Enter")
        page.get_by_role("link", name="Notifications").click()

        expect(page.get_by_label("Reviewer group")).to_be_focused()  # autofocus: type at once
        page.keyboard.type("finance")
        page.keyboard.press("Tab")
        expect(page.get_by_label("Slack channel")).to_be_focused()
        page.keyboard.type("C0FIN")
        page.get_by_label("Emails").fill("ops@example.com")
        page.get_by_label("high").check()
        page.get_by_label("A request is created").check()
        page.get_by_label("Emails").press("Enter")  # Enter in a field submits the form

        row = page.get_by_role("row", name=re.compile("finance"))
        expect(row).to_contain_text("C0FIN")
        expect(page.locator(".messages")).to_contain_text("Channels of finance saved.")
        row.get_by_role("button", name="Send test").focus()
        page.keyboard.press("Enter")
        expect(page.locator(".messages")).to_contain_text("Slack C0FIN: sent")
        assert BOT_TOKEN not in page.content()
    assert GroupChannels.objects.get(reviewer_group="finance").tiers == ["high"]
    assert slack.named("chat.postMessage")[0]["channel"] == "C0FIN"


@pytest.mark.django_db(transaction=True)  # uvicorn, another process, reads these rows
def test_open_in_tollgate_starts_the_queue_on_that_request(web_page: Page, requester, tool_server):
    from tests.approvals.conftest import make_request, make_reviewer
    from tests.browser.test_approval_queue import log_in
    from tests.factories import make_http_tool

    make_http_tool("refund_tool", tool_server[0], risk_tier="high")
    make_reviewer("alice")
    make_request(requester)
    second = make_request(requester, step_index=1)
    log_in(web_page, "alice", f"/approvals/?request={second.id}")
    expect(web_page.locator(f'tr[data-id="{second.id}"]')).to_have_class(re.compile("selected"))

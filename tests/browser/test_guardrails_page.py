"""The guardrails console in a real browser: an admin reads a tool's breaker and edits an agent's settings."""

import re
import uuid
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from agents.guards.breakers import ToolLimits, breaker_record
from agents.guards.models import GuardConfig
from agents.guards.store import guard_redis
from tests.factories import make_agent, make_http_tool

pytestmark = pytest.mark.browser


@pytest.fixture
def admin(transactional_db, settings) -> Iterator[User]:
    settings.GUARD_KEY_PREFIX = f"tgbrowser:{uuid.uuid4().hex[:12]}:"
    yield User.objects.create_user("admin", password="admin-pass", is_staff=True, is_superuser=True)
    client = guard_redis()
    for key in client.scan_iter(match=settings.GUARD_KEY_PREFIX + "*"):
        client.delete(key)


def test_an_admin_sees_an_open_breaker_and_sets_an_agents_retry_budget(page: Page, admin, sim_priced):
    tool = make_http_tool("check_inventory", "http://127.0.0.1:9/")
    limits = ToolLimits(
        requests_per_minute=10, breaker_failures=1, breaker_error_rate=1, breaker_cooldown_s=60
    )
    breaker_record(tool=tool, limits=limits, failed=True)
    agent = make_agent("support-bot", model="sim/refund")

    page.goto("/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("admin-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Guardrails").click()

    breakers = page.locator("#tool-breakers")
    expect(breakers.get_by_role("row", name=re.compile("check_inventory"))).to_contain_text("open")
    page.get_by_role("row", name=re.compile("support-bot")).get_by_role("link", name="Edit").click()
    page.get_by_label("Retry budget").fill("2")
    page.get_by_label("Routing").fill('{"classify": "sim/echo"}')
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(r"/guards/$"))
    expect(page.get_by_role("row", name=re.compile("support-bot"))).to_contain_text("sim/echo")
    config = GuardConfig.objects.get(agent=agent)
    assert (config.retry_budget, config.routing) == (2, {"classify": "sim/echo"})

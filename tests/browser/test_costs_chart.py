"""The cost page draws its charts from the vendored Chart.js, with no request leaving the server."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Page, expect

from core import clock
from tests.factories import make_agent
from tests.tracing import alerting
from tracing.models import Span

pytestmark = pytest.mark.browser


@pytest.fixture
def reviewer(transactional_db) -> User:
    user = User.objects.create_user("reviewer", password="reviewer-pass")
    user.groups.add(Group.objects.get_or_create(name="reviewers")[0])
    return user


def test_spend_chart_renders_from_local_files(page: Page, live_server, reviewer):
    make_agent("support-bot", model="sim/refund")
    task = alerting.task(reviewer)
    attributes = {"tollgate.cost_usd": "0.25", "gen_ai.request.model": "gpt-a"}
    alerting.span(task, kind=Span.Kind.MODEL, at=clock.now() - timedelta(hours=1), **attributes)
    errors: list[str] = []
    foreign: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(live_server.url) else None)

    page.goto("/costs/")
    page.get_by_label("Username").fill("reviewer")
    page.get_by_label("Password").fill("reviewer-pass")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Costs")).to_be_visible()
    expect(page.locator("table.spend-totals")).to_contain_text("support-bot")
    # Chart.js sizes the canvas it draws on; an undrawn canvas keeps the default 300x150.
    page.wait_for_function("() => window.Chart && Chart.getChart('spend-chart') !== undefined")
    assert page.evaluate("() => Chart.getChart('spend-chart').data.datasets[0].label") == "support-bot"
    assert errors == []
    assert foreign == []

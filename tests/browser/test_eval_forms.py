"""The evals console's forms in a real browser: an admin creates a suite, adds a case (after a
refused check spec is shown on the form), and sees it listed on the suite's page."""

import json
import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from evals.models import EvalCase, EvalSuite
from tests.factories import make_agent

pytestmark = pytest.mark.browser


@pytest.fixture
def admin(transactional_db) -> User:
    return User.objects.create_user("admin", password="admin-pass", is_staff=True, is_superuser=True)


def test_an_admin_creates_a_suite_and_adds_a_case(page: Page, admin, sim_priced):
    make_agent("support-bot", model="sim/refund")

    page.goto("/evals/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("admin-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="New suite").click()
    page.get_by_label("Agent").select_option("support-bot")
    page.get_by_label("Name").fill("refunds")
    page.get_by_label("Required").check()
    page.get_by_role("button", name="Create the suite").click()

    expect(page).to_have_url(re.compile(r"/evals/suites/\d+/$"))
    expect(page.get_by_role("heading", name="support-bot · refunds")).to_be_visible()
    page.get_by_role("link", name="Add a case").click()
    page.get_by_label("Name").fill("refund A-1001")
    page.get_by_label("Input").fill("Please refund order A-1001.")
    page.get_by_label("Live tools").fill("lookup_order")
    page.get_by_label("Checks").fill('[{"kind": "regex"}]')
    page.get_by_role("button", name="Add the case").click()

    # Refused by the service's check validation: the form again, with why, as typed.
    expect(page.locator('[data-field="checks"]')).to_contain_text("checks[0].kind must be one of")
    expect(page.get_by_label("Input")).to_have_value("Please refund order A-1001.")
    page.get_by_label("Checks").fill(
        json.dumps([{"kind": "cel", "name": "succeeds", "expr": 'status == "succeeded"'}])
    )
    page.get_by_role("button", name="Add the case").click()

    expect(page).to_have_url(re.compile(r"/evals/suites/\d+/$"))
    expect(page.locator(".message.success")).to_contain_text("Case 'refund A-1001' added to refunds.")
    row = page.locator("#eval-cases").get_by_role("row", name=re.compile("refund A-1001"))
    expect(row).to_contain_text("Please refund order A-1001.")
    expect(row).to_contain_text("cel: succeeds")
    suite = EvalSuite.objects.get()
    assert (suite.agent.name, suite.name, suite.required) == ("support-bot", "refunds", True)
    case = EvalCase.objects.get(suite=suite)
    assert (case.live_tools, case.checks[0]["expr"]) == (["lookup_order"], 'status == "succeeded"')

"""The rollout panel in a real browser: an admin starts a rollout, watches its numbers change
without reloading, and rolls it back only once the confirmation is accepted."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from agents.models import AgentVersion, Rollout, Session, Task
from tests.factories import make_agent

pytestmark = pytest.mark.browser


@pytest.fixture
def admin(transactional_db) -> User:
    return User.objects.create_user("admin", password="admin-pass", is_staff=True, is_superuser=True)


def test_an_admin_starts_a_rollout_sees_it_refresh_and_rolls_it_back_after_confirming(
    page: Page, admin, sim_priced
):
    agent = make_agent("support-bot", model="sim/echo")
    AgentVersion.objects.create(agent=agent, number=2, model="sim/refund")

    page.goto("/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("admin-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Agents").click()
    page.get_by_role("link", name="support-bot").click()
    page.get_by_label("Canary version").select_option("2")
    page.get_by_label("Percent").fill("30")
    page.get_by_role("button", name="Start").click()

    panel = page.locator("#rollout-panel")
    expect(panel).to_contain_text("30% of new sessions on v2")

    def cells(label: str):
        return panel.get_by_role("row", name=re.compile(f"^{label}")).get_by_role("cell")

    expect(cells("Sessions")).to_have_text(["0", "0"])

    # Canary work arrives while the page is open: the panel shows it without a reload.
    rollout = Rollout.objects.get()
    session = Session.objects.create(
        agent=agent, agent_version=rollout.canary, owner=admin, rollout=rollout, rollout_arm="canary"
    )
    Task.objects.create(session=session, owner=admin, input="hi", status="failed")
    expect(cells("Failure rate")).to_have_text(["—", "100.0%"])
    expect(cells("Sessions")).to_have_text(["0", "1"])

    dialogs: list[str] = []

    def answer(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss() if len(dialogs) == 1 else dialog.accept()

    page.on("dialog", answer)
    roll_back = panel.get_by_role("button", name="Roll back")
    roll_back.click()
    expect(panel).to_contain_text("30% of new sessions on v2")  # dismissed: nothing happened
    assert Rollout.objects.get().status == "active"
    panel.get_by_role("button", name="Roll back").click()

    expect(page.locator(".message.success")).to_contain_text(f"Rollout {rollout.pk} rolled back")
    assert dialogs[0].startswith("Roll back? New sessions run v1")
    assert len(dialogs) == 2
    assert Rollout.objects.get().status == "rolled_back"
    expect(page.locator("#rollout-panel")).to_contain_text("No rollout is active")

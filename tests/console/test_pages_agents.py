"""The agents list and an agent's page with its rollout panel: who sees and who acts, the live
fragment, starting, promoting and rolling back from the browser."""

from decimal import Decimal

import pytest
from django.urls import reverse

from agents.models import Agent, AgentVersion, Rollout, Task
from agents.rollouts.services import rollout_start
from agents.services.catalog import agent_draft_create
from agents.services.tasks import task_submit
from approvals.models import AuditEntry


@pytest.fixture
def two_versions(agent) -> Agent:
    AgentVersion.objects.create(agent=agent, number=2, model="sim/echo")
    return agent


def test_reviewers_see_the_agents_and_the_live_comparison_others_are_refused(
    client, reviewer, requester, admin, two_versions
):
    rollout = rollout_start(actor=admin, agent_name="support-bot", canary_version=2, percent=50)
    for _ in range(12):
        task, _ = task_submit(owner=requester, agent_name="support-bot", input="hi")
        Task.objects.filter(pk=task.pk).update(status="succeeded", cost_usd=Decimal("0.002"))
    client.force_login(reviewer)

    listed = client.get(reverse("console:agents"))
    page = client.get(reverse("console:agent", args=["support-bot"]))
    live = client.get(reverse("console:agent_rollout_live", args=["support-bot"]))

    assert listed.status_code == 200
    assert "50% on v2" in listed.content.decode()
    assert page.status_code == 200
    html = page.content.decode()
    assert f"Rollout {rollout.pk}: 50% of new sessions on v2" in html
    assert 'data-final="false"' in html
    assert "Promote v2" not in html  # a reviewer reads, an admin acts
    rows = {label: (baseline, canary) for label, baseline, canary in live.context["rows"]}
    sessions = int(rows["Sessions"][0]) + int(rows["Sessions"][1])
    assert sessions == 12
    assert rows["Success rate"] == ("100.0%", "100.0%")
    assert rows["Cost per task (USD)"] == ("0.002000", "0.002000")
    assert live.content.decode().lstrip().startswith('<section class="card" id="rollout-panel"')

    client.force_login(requester)
    assert client.get(reverse("console:agent", args=["support-bot"])).status_code == 403
    assert client.get(reverse("console:agent_rollout_live", args=["support-bot"])).status_code == 403


def test_an_admin_starts_promotes_and_the_page_says_so(client, admin, two_versions):
    client.force_login(admin)
    page = client.get(reverse("console:agent", args=["support-bot"]))
    assert "Start a rollout" in page.content.decode()

    started = client.post(
        reverse("console:agent_rollout_start", args=["support-bot"]),
        {"canary_version": "2", "percent": "20", "min_tasks": "5"},
        follow=True,
    )

    rollout = Rollout.objects.get()
    assert (rollout.percent, rollout.min_tasks, rollout.cost_multiple) == (20, 5, Decimal("1.50"))
    html = started.content.decode()
    assert "Rollout started: 20% of new sessions run v2." in html
    assert 'data-confirm="Promote v2?' in html

    promoted = client.post(
        reverse("console:agent_rollout_end", args=["support-bot", rollout.pk, "promote"]),
        {"reason": "canary is fine"},
        follow=True,
    )

    assert f"Rollout {rollout.pk} promoted" in promoted.content.decode()
    rollout.refresh_from_db()
    assert (rollout.status, rollout.ended_reason) == ("promoted", "canary is fine")
    assert Agent.objects.get(name="support-bot").current_version.number == 2
    assert AuditEntry.objects.get(action="rollout.promoted").actor_name == "admin"
    again = client.post(
        reverse("console:agent_rollout_end", args=["support-bot", rollout.pk, "rollback"]), follow=True
    )
    assert "has already ended (promoted)" in again.content.decode()


def test_a_roll_back_from_the_page_keeps_the_baseline(client, admin, two_versions):
    rollout = rollout_start(actor=admin, agent_name="support-bot", canary_version=2, percent=10)
    client.force_login(admin)

    client.post(reverse("console:agent_rollout_end", args=["support-bot", rollout.pk, "rollback"]))

    rollout.refresh_from_db()
    assert (rollout.status, rollout.ended_by) == ("rolled_back", admin)
    assert Agent.objects.get(name="support-bot").current_version.number == 1
    page = client.get(reverse("console:agent", args=["support-bot"])).content.decode()
    assert "No rollout is active" in page
    assert "Rolled Back" in page


def test_bad_input_and_non_admins_change_nothing(client, admin, reviewer, two_versions):
    client.force_login(admin)
    start_url = reverse("console:agent_rollout_start", args=["support-bot"])

    for body in ({"canary_version": "1", "percent": "10"}, {"canary_version": "2", "percent": "100"}, {}):
        response = client.post(start_url, body, follow=True)
        assert response.status_code == 200
        assert 'class="message error"' in response.content.decode()
    assert not Rollout.objects.exists()
    rollout = rollout_start(actor=admin, agent_name="support-bot", canary_version=2, percent=10)
    assert (
        client.post(
            reverse("console:agent_rollout_end", args=["support-bot", rollout.pk, "destroy"])
        ).status_code
        == 404
    )
    assert (
        client.post(reverse("console:agent_rollout_end", args=["support-bot", 999, "promote"])).status_code
        == 404
    )
    assert client.get(reverse("console:agent", args=["nobody"])).status_code == 404

    client.force_login(reviewer)
    assert client.post(start_url, {"canary_version": "2", "percent": "10"}).status_code == 403
    for action in ("promote", "rollback"):
        url = reverse("console:agent_rollout_end", args=["support-bot", rollout.pk, action])
        assert client.post(url).status_code == 403
    rollout.refresh_from_db()
    assert rollout.status == "active"


def test_the_page_shows_a_draft_as_such_and_offers_it_as_the_canary(client, admin, agent):
    agent_draft_create(actor=admin, name="support-bot", model="sim/echo")
    client.force_login(admin)

    page = client.get(reverse("console:agent", args=["support-bot"]))

    html = page.content.decode()
    assert '<td class="status-draft">draft <span class="muted">serves no new session until a rollout' in html
    assert "v2 <span" not in html  # not marked current: v1 is
    assert '<td class="num">v1 <span class="muted">current</span></td>' in html
    assert dict(page.context["start_form"].fields["canary_version"].choices) == {2: "v2 · sim/echo · draft"}

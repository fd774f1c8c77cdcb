"""The admin page for each reviewer group's channels: saved, audited, tested; secrets never shown."""

import pytest
from django.test import Client

from approvals.models import AuditEntry
from notifications.models import GroupChannels, SlackUserLink
from tests.notifications.conftest import BOT_TOKEN, group_channels

pytestmark = pytest.mark.django_db
KEY_VALUE = "pd-routing-key-value-not-to-show"


@pytest.fixture
def admin_client(admin) -> Client:
    client = Client()
    client.force_login(admin)
    return client


def test_only_admins_open_it(reviewer):
    client = Client()
    client.force_login(reviewer)
    assert client.get("/notifications/channels/").status_code == 403
    assert client.post("/notifications/channels/", {"reviewer_group": "x"}).status_code == 403


def test_an_admin_saves_a_groups_channels_and_it_is_audited(admin_client):
    response = admin_client.post(
        "/notifications/channels/",
        {
            "reviewer_group": "finance",
            "slack_channel": "C0FIN",
            "emails": "a@example.com, b@example.com",
            "pagerduty_key_env": "PAGERDUTY_KEY_FINANCE",
            "tiers": ["high", "critical"],
            "events": ["created", "escalated"],
        },
    )
    assert response.status_code == 302
    channels = GroupChannels.objects.get(reviewer_group="finance")
    assert channels.emails == ["a@example.com", "b@example.com"]
    assert channels.tiers == ["high", "critical"]
    assert AuditEntry.objects.filter(action="notifications.channels_saved", object_id="finance").exists()


def test_direct_messages_to_members_are_turned_on_and_off_from_the_form(admin_client):
    form = {"reviewer_group": "finance", "slack_channel": "C0FIN", "tiers": ["high"], "events": ["created"]}

    turned_on = admin_client.post("/notifications/channels/", {**form, "slack_dm_members": "on"})
    assert turned_on.status_code == 302
    assert GroupChannels.objects.get(reviewer_group="finance").slack_dm_members is True

    assert admin_client.post("/notifications/channels/", form).status_code == 302
    assert GroupChannels.objects.get(reviewer_group="finance").slack_dm_members is False


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pagerduty_key_env", "DJANGO_SECRET_KEY"),
        ("emails", "not-an-address"),
        ("tiers", "low"),
        ("events", "deleted"),
    ],
)
def test_bad_values_are_refused_on_the_form(admin_client, field, value):
    data = {"reviewer_group": "finance", field: value}
    response = admin_client.post("/notifications/channels/", data)
    assert response.status_code == 200
    assert not GroupChannels.objects.exists()


def test_secrets_are_never_shown_back(admin_client, slack, monkeypatch):
    monkeypatch.setenv("PAGERDUTY_KEY_REVIEWERS", KEY_VALUE)
    group_channels(pagerduty_key_env="PAGERDUTY_KEY_REVIEWERS")
    page = admin_client.get("/notifications/channels/").content.decode()
    assert "PAGERDUTY_KEY_REVIEWERS" in page
    assert "(set)" in page
    assert "<code>SLACK_BOT_TOKEN</code> is set" in page
    assert BOT_TOKEN not in page
    assert KEY_VALUE not in page


def test_send_test_posts_to_slack_and_mails_the_list(admin_client, slack, mailoutbox):
    channels = group_channels(emails=["ops@example.com"])
    response = admin_client.post(f"/notifications/channels/{channels.pk}/test/", follow=True)
    assert response.status_code == 200
    assert slack.named("chat.postMessage")[0]["channel"] == "C0REVIEW"
    assert mailoutbox[0].to == ["ops@example.com"]
    assert b"Slack C0REVIEW: sent" in response.content


def test_an_admin_links_and_unlinks_a_slack_user(admin_client, reviewer):
    assert (
        admin_client.post(
            "/notifications/slack-users/", {"slack_user_id": "U0ABC", "username": "reviewer"}
        ).status_code
        == 302
    )
    link = SlackUserLink.objects.get(slack_user_id="U0ABC")
    assert link.user == reviewer
    assert link.linked_by == "admin"
    admin_client.post(f"/notifications/slack-users/{link.pk}/delete/")
    assert not SlackUserLink.objects.exists()
    assert AuditEntry.objects.filter(action="notifications.slack_user_unlinked").exists()


def test_edit_fills_the_form_with_the_groups_channels(admin_client):
    group_channels(emails=["a@example.com", "b@example.com"], slack_dm_members=True)
    page = admin_client.get("/notifications/channels/?group=reviewers").content.decode()
    assert 'value="a@example.com, b@example.com"' in page
    assert 'id="id_slack_dm_members" checked' in page

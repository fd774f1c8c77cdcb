"""Slack interactions: signed payloads in Slack's format decide through the console's rules."""

import time

import pytest
from django.contrib.auth.models import User
from django.test import Client

from approvals.models import ActionRequest
from approvals.services import action_request_decide
from notifications.models import SlackUserLink
from notifications.slack_interactions import LINK_YOUR_ACCOUNT
from tests.approvals.conftest import make_request, make_reviewer
from tests.notifications.conftest import click, post_interaction, reject_submission, slack_signed

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked(reviewer) -> User:
    SlackUserLink.objects.create(slack_user_id="U0REVIEW", user=reviewer, created_at=reviewer.date_joined)
    return reviewer


def test_a_signed_approve_click_approves_through_the_service(
    client: Client, slack, linked, requester, inline_tasks
):
    request = make_request(requester)
    response = post_interaction(client, click("tollgate_approve", request.id, 1))
    assert response.status_code == 200, response.content
    request.refresh_from_db()
    assert request.status == ActionRequest.Status.APPROVED
    assert request.decided_by == linked
    assert slack.named("chat.postEphemeral") == []  # the redrawn card says it; no extra message


def test_a_wrong_signature_is_refused_and_changes_nothing(client: Client, slack, linked, requester):
    request = make_request(requester)
    response = post_interaction(client, click("tollgate_approve", request.id, 1), secret="not-the-secret")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert ActionRequest.objects.get(pk=request.pk).status == "pending"


def test_a_timestamp_older_than_five_minutes_is_refused(client: Client, slack, linked, requester):
    request = make_request(requester)
    stale = int(time.time()) - 5 * 60 - 5
    response = post_interaction(client, click("tollgate_approve", request.id, 1), timestamp=stale)
    assert response.status_code == 401
    assert ActionRequest.objects.get(pk=request.pk).status == "pending"


def test_a_body_changed_after_signing_is_refused(client: Client, slack, linked, requester):
    request = make_request(requester)
    from tests.notifications.conftest import interaction_body

    signed = interaction_body(click("tollgate_approve", request.id, 1))
    headers = slack_signed(interaction_body(click("tollgate_reject", request.id, 1)))
    response = client.generic(
        "POST",
        "/notifications/slack/interactions/",
        signed,
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Request-Timestamp": "not-a-number", "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": "9" * 40, "X-Slack-Signature": "v0=00"},
    ],
)
def test_missing_or_malformed_signature_headers_are_a_401_not_a_500(client: Client, slack, headers):
    response = client.generic(
        "POST",
        "/notifications/slack/interactions/",
        b"payload=%7B%7D",
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body", [b"payload=not-json", b"payload=%5B1%5D", b"x=1", b'payload={"type":"shortcut"}']
)
def test_hostile_signed_bodies_are_a_400(client: Client, slack, body):
    response = client.generic(
        "POST",
        "/notifications/slack/interactions/",
        body,
        content_type="application/x-www-form-urlencoded",
        headers=slack_signed(body),
    )
    assert response.status_code == 400


def test_an_unmapped_user_is_told_to_link_their_account(
    client: Client, slack, reviewer, requester, inline_tasks
):
    request = make_request(requester)
    response = post_interaction(client, click("tollgate_approve", request.id, 1, user="U0STRANGER"))
    assert response.status_code == 200
    assert response.json()["text"] == LINK_YOUR_ACCOUNT
    ephemeral = slack.named("chat.postEphemeral")
    assert ephemeral == [{"channel": "C0REVIEW", "user": "U0STRANGER", "text": LINK_YOUR_ACCOUNT}]
    assert ActionRequest.objects.get(pk=request.pk).status == "pending"


def test_a_user_is_linked_by_the_confirmed_email_slack_reports(
    client: Client, slack, reviewer, requester, inline_tasks
):
    reviewer.email = "Rev@Example.com"
    reviewer.save()
    slack.emails["U0NEW"] = "rev@example.com"
    request = make_request(requester)
    response = post_interaction(client, click("tollgate_approve", request.id, 1, user="U0NEW"))
    assert response.status_code == 200
    assert SlackUserLink.objects.get(slack_user_id="U0NEW").user == reviewer
    assert ActionRequest.objects.get(pk=request.pk).status == "approved"


def test_self_approval_from_slack_is_refused(client: Client, slack, requester, inline_tasks):
    requester.groups.add(*make_reviewer("other").groups.all())
    SlackUserLink.objects.create(slack_user_id="U0OWNER", user=requester, created_at=requester.date_joined)
    request = make_request(requester)
    response = post_interaction(client, click("tollgate_approve", request.id, 1, user="U0OWNER"))
    assert "you submitted this task" in response.json()["text"]
    assert ActionRequest.objects.get(pk=request.pk).status == "pending"


def test_a_user_outside_the_group_is_refused(client: Client, slack, outsider, requester, inline_tasks):
    SlackUserLink.objects.create(slack_user_id="U0OUT", user=outsider, created_at=outsider.date_joined)
    request = make_request(requester)
    response = post_interaction(client, click("tollgate_approve", request.id, 1, user="U0OUT"))
    assert "only reviewers in 'reviewers'" in response.json()["text"]
    assert ActionRequest.objects.get(pk=request.pk).status == "pending"


def test_a_click_on_a_card_of_an_older_version_is_stale(
    client: Client, slack, linked, requester, inline_tasks, tool_server
):
    from tests.factories import make_http_tool

    make_http_tool("refund_tool", tool_server[0], risk_tier="high")
    request = make_request(requester, approvals_required=2)
    editor = make_reviewer("editor")
    action_request_decide(
        action_request=request, actor=editor, decision="approve", arguments={"i": 2}, version=1
    )

    response = post_interaction(client, click("tollgate_approve", request.id, 1))
    assert "changed since this card was drawn (now version 2)" in response.json()["text"]
    assert not request.votes.filter(reviewer=linked).exists()


def test_reject_opens_a_dialog_and_its_submission_rejects_with_the_reason(
    client: Client, slack, linked, requester
):
    request = make_request(requester)
    response = post_interaction(client, click("tollgate_reject", request.id, 1))
    assert response.status_code == 200
    view = slack.named("views.open")[0]
    assert view["trigger_id"] == "1337.42.abcd"
    assert view["view"]["private_metadata"] == f"{request.id}:1"
    assert ActionRequest.objects.get(pk=request.pk).status == "pending"  # opening the dialog decides nothing

    response = post_interaction(client, reject_submission(request.id, 1, "wrong customer"))
    assert response.json() == {"response_action": "clear"}
    request.refresh_from_db()
    assert (request.status, request.decision_comment, request.decided_by) == (
        "rejected",
        "wrong customer",
        linked,
    )


def test_a_refused_rejection_is_shown_in_the_dialog(client: Client, slack, requester):
    SlackUserLink.objects.create(slack_user_id="U0OWNER", user=requester, created_at=requester.date_joined)
    request = make_request(requester)
    response = post_interaction(client, reject_submission(request.id, 1, "no", user="U0OWNER"))
    assert response.json()["response_action"] == "errors"
    assert "only reviewers" in response.json()["errors"]["reason"]
    assert ActionRequest.objects.get(pk=request.pk).status == "pending"


def test_a_multipart_or_empty_body_is_refused_before_it_is_read(client: Client, slack):
    assert client.post("/notifications/slack/interactions/", {"payload": "{}"}).status_code == 415
    assert client.generic("POST", "/notifications/slack/interactions/", b"").status_code == 415

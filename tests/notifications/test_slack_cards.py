"""Cards: posted once for a new request, redrawn in place after any decision from anywhere."""

import json

import pytest

from approvals.live import action_request_publish
from approvals.services import action_request_decide
from notifications.models import SlackCard
from notifications.slack_cards import card_blocks
from tests.approvals.conftest import make_request, make_reviewer
from tests.notifications.conftest import group_channels

pytestmark = pytest.mark.django_db


def _buttons(blocks: list[dict]) -> dict[str, dict]:
    return {element["action_id"]: element for element in blocks[-1]["elements"]}


def _created(request, capture) -> None:
    with capture(execute=True):
        action_request_publish(request_id=request.id, event="created")


def test_a_new_request_posts_one_card_with_buttons_bound_to_its_version(
    requester, slack, inline_tasks, django_capture_on_commit_callbacks
):
    group_channels()
    request = make_request(requester, reasoning="The customer asked twice.")
    _created(request, django_capture_on_commit_callbacks)
    _created(request, django_capture_on_commit_callbacks)  # a second event never posts twice

    [posted] = slack.named("chat.postMessage")
    assert posted["channel"] == "C0REVIEW"
    buttons = _buttons(posted["blocks"])
    assert buttons["tollgate_approve"]["value"] == f"{request.id}:1"
    assert buttons["tollgate_reject"]["value"] == f"{request.id}:1"
    assert buttons["tollgate_open"]["url"].endswith(f"/approvals/?request={request.id}")
    assert "The customer asked twice." in json.dumps(posted["blocks"])
    assert SlackCard.objects.get(request=request).ts == "1700000000.000001"


def test_a_decision_in_the_console_redraws_the_card_without_buttons(
    requester, reviewer, slack, inline_tasks, django_capture_on_commit_callbacks
):
    group_channels()
    request = make_request(requester)
    _created(request, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        action_request_decide(
            action_request=request, actor=reviewer, decision="reject", comment="not <b>this</b>"
        )

    [update] = slack.named("chat.update")
    assert (update["channel"], update["ts"]) == ("C0REVIEW", "1700000000.000001")
    assert set(_buttons(update["blocks"])) == {"tollgate_open"}
    state = update["blocks"][-2]["elements"][0]["text"]
    assert state.startswith("Rejected by reviewer at <!date^")
    assert state.endswith("not &lt;b&gt;this&lt;/b&gt;")


def test_an_edit_elsewhere_redraws_the_card_for_the_new_version(
    requester, slack, inline_tasks, django_capture_on_commit_callbacks, tool_server
):
    from tests.factories import make_http_tool

    make_http_tool("refund_tool", tool_server[0], risk_tier="high")
    group_channels()
    request = make_request(requester, approvals_required=2)
    _created(request, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        action_request_decide(
            action_request=request,
            actor=make_reviewer("editor"),
            decision="approve",
            arguments={"i": 7},
            version=1,
        )
    update = slack.named("chat.update")[-1]
    assert _buttons(update["blocks"])["tollgate_approve"]["value"] == f"{request.id}:2"
    assert "1 of 2 approvals" in update["blocks"][-2]["elements"][0]["text"]


def test_model_text_is_plain_text_and_truncated():
    from approvals.models import ActionRequest

    request = ActionRequest(
        tool_name="t",
        agent_name="a",
        tier="critical",
        arguments={"note": "<!channel> *bold* " + "x" * 5000},
        reasoning="<https://evil.example|click> " + "y" * 5000,
        version=1,
        status="pending",
        approvals_required=1,
    )
    _, blocks = card_blocks(request)
    arguments, reasoning = blocks[2]["text"], blocks[3]["text"]
    assert arguments["type"] == reasoning["type"] == "plain_text"  # Slack parses nothing in plain_text
    assert len(arguments["text"]) <= 1500 + len("Arguments:\n")
    assert len(reasoning["text"]) <= 1000 + len("Model's reasoning:\n")
    assert set(_buttons(blocks)) == {"tollgate_open"}  # a critical action is never approved


def test_a_rate_limited_post_waits_for_retry_after_then_posts_once(
    requester, slack, inline_tasks, django_capture_on_commit_callbacks
):
    group_channels()
    slack.failures = [429]
    slack.retry_after_s = 1
    request = make_request(requester)
    _created(request, django_capture_on_commit_callbacks)
    calls = [name for name, _ in slack.calls]
    assert calls == ["chat.postMessage", "chat.postMessage"]  # slack-sdk's handler retried once
    assert SlackCard.objects.filter(request=request).count() == 1


def test_a_group_without_slack_or_a_tier_it_does_not_announce_posts_nothing(
    requester, slack, inline_tasks, django_capture_on_commit_callbacks
):
    group_channels(tiers=["critical"])
    request = make_request(requester)  # high
    _created(request, django_capture_on_commit_callbacks)
    assert slack.calls == []


def test_dms_go_to_linked_members_who_may_approve_and_are_redrawn_with_the_channel(
    requester, reviewer, slack, inline_tasks, django_capture_on_commit_callbacks
):
    from notifications.models import SlackUserLink

    group_channels(slack_dm_members=True)
    requester.groups.add(*reviewer.groups.all())  # the submitter is a member too, but may not approve
    make_reviewer("unlinked")
    for slack_user_id, user in (("U0REVIEW", reviewer), ("U0OWNER", requester)):
        SlackUserLink.objects.create(slack_user_id=slack_user_id, user=user, created_at=user.date_joined)
    request = make_request(requester)
    _created(request, django_capture_on_commit_callbacks)
    assert sorted(posted["channel"] for posted in slack.named("chat.postMessage")) == ["C0REVIEW", "U0REVIEW"]

    with django_capture_on_commit_callbacks(execute=True):
        action_request_decide(action_request=request, actor=reviewer, decision="approve")
    assert sorted(update["channel"] for update in slack.named("chat.update")) == ["C0REVIEW", "U0REVIEW"]

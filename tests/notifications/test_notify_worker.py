"""End to end with a real worker: a request is approved from Slack and from an e-mail link,
and the held tool call then runs."""

import re
from pathlib import Path

import pytest
from django.test import Client

from approvals.models import ActionRequest
from notifications.models import Notice, SlackUserLink
from tests.approvals.test_tiers_worker import submit, task_status
from tests.factories import make_agent, make_http_tool
from tests.notifications.conftest import BOT_TOKEN, SIGNING_SECRET, click, group_channels, post_interaction
from tests.notifications.fakes import fake_slack
from tests.support.processes import running_worker, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def chainer(use_simulator, tool_server):
    url, server = tool_server
    make_agent(
        "chainer",
        model="sim/chain?calls=1&tool=refund_tool",
        tools=[make_http_tool("refund_tool", url, risk_tier="high")],
    )
    return server


def test_approve_from_a_signed_slack_click_runs_the_tool_and_redraws_the_card(
    requester_api, reviewer, chainer, use_simulator, settings, tmp_path
):
    with fake_slack() as (slack_url, slack):
        settings.SLACK_API_URL, settings.SLACK_BOT_TOKEN, settings.SLACK_SIGNING_SECRET = (
            slack_url,
            BOT_TOKEN,
            SIGNING_SECRET,
        )
        group_channels(events=["created"])
        SlackUserLink.objects.create(slack_user_id="U0REVIEW", user=reviewer, created_at=reviewer.date_joined)
        env = {"SIMULATOR_URL": use_simulator, "SLACK_API_URL": slack_url, "SLACK_BOT_TOKEN": BOT_TOKEN}
        with running_worker(tmp_path, **env):
            task_id = submit(requester_api)
            wait_until(lambda: slack.named("chat.postMessage"), what="the card")
            assert chainer.requests == 0
            request = ActionRequest.objects.get()
            response = post_interaction(Client(), click("tollgate_approve", request.id, 1))
            assert response.status_code == 200, response.content
            wait_until(lambda: task_status(task_id) == "succeeded", what="the task to finish")
            wait_until(
                lambda: any(
                    "Approved (executed) by reviewer" in str(u["blocks"]) for u in slack.named("chat.update")
                ),
                what="the card redrawn with who approved and how the run went",
            )
    assert chainer.side_effects == 1
    assert len(slack.named("chat.postMessage")) == 1
    assert ActionRequest.objects.get().decided_by == reviewer
    assert Notice.objects.get(kind="slack.card").status == "sent"


def test_approve_from_an_email_link_runs_the_tool(requester_api, reviewer, chainer, use_simulator, tmp_path):
    reviewer.email = "reviewer@example.com"
    reviewer.save()
    group_channels(slack_channel="", emails=["reviewer@example.com"], events=["created"])
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = {
        "SIMULATOR_URL": use_simulator,
        "TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "TEST_EMAIL_FILE_PATH": str(mail_dir),
    }
    with running_worker(tmp_path, **env):
        task_id = submit(requester_api)
        mail = wait_until(lambda: _read_mail(mail_dir), what="the mail")
        approve = re.search(r"Approve: https?://[^/]+(\S+)", mail).group(1)
        client = Client()
        client.force_login(reviewer)
        assert client.get(approve).status_code == 200
        assert ActionRequest.objects.get().status == "pending"
        assert client.post(approve).status_code == 200
        wait_until(lambda: task_status(task_id) == "succeeded", what="the task to finish")
    assert chainer.side_effects == 1
    assert ActionRequest.objects.get().status == "executed"


def _read_mail(folder: Path) -> str:
    return "".join(path.read_text() for path in sorted(folder.glob("*.log")))

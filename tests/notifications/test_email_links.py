"""One-click e-mail links: signed, single use, bound to recipient and version; GET decides nothing."""

import re
from datetime import timedelta

import pytest
from django.test import Client

from approvals.models import ActionRequest
from approvals.services import MAX_COMMENT_CHARS, action_request_decide, action_request_escalate
from core import clock
from notifications.email_links import email_link_use, email_links_create
from notifications.models import EmailLink
from tests.approvals.conftest import make_request, make_reviewer
from tests.notifications.conftest import group_channels
from tests.support.races import race

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailed(reviewer):
    reviewer.email = "reviewer@example.com"
    reviewer.save()
    return reviewer


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_escalation_mail_carries_links_that_approve_after_a_confirmed_post(
    requester, mailed, settings, mailoutbox, inline_tasks, django_capture_on_commit_callbacks
):
    settings.APPROVALS_ESCALATION_EMAILS = ["Reviewer@Example.com"]
    request = make_request(requester)
    with django_capture_on_commit_callbacks(execute=True):
        action_request_escalate(request_id=request.id)
    [mail] = mailoutbox
    approve = re.search(r"Approve: (\S+)", mail.body).group(1)
    assert re.search(r"Reject: (\S+)", mail.body)

    client = _logged_in(mailed)
    page = client.get(_path(approve))
    assert page.status_code == 200
    assert b"Nothing has changed yet" in page.content
    response = client.post(_path(approve))
    assert response.status_code == 200, response.content
    request.refresh_from_db()
    assert (request.status, request.decided_by) == ("approved", mailed)
    assert EmailLink.objects.get(decision="approve").used_by == mailed


def test_a_mail_scanner_that_opens_every_link_decides_nothing(requester, mailed):
    request = make_request(requester)
    urls = email_links_create(request=request, recipient="reviewer@example.com")
    scanner = Client()  # no session: the login page
    for url in urls.values():
        assert scanner.get(_path(url)).status_code == 302
    logged_in = _logged_in(mailed)  # even a scanner holding the session only GETs
    for url in urls.values():
        assert logged_in.get(_path(url)).status_code == 200
        assert logged_in.head(_path(url)).status_code == 200
    assert ActionRequest.objects.get(pk=request.pk).status == "pending"
    assert not EmailLink.objects.filter(used_at__isnull=False).exists()


def test_a_link_works_once(requester, mailed):
    request = make_request(requester, approvals_required=2)
    url = email_links_create(request=request, recipient="reviewer@example.com")["approve"]
    client = _logged_in(mailed)
    assert client.post(_path(url)).status_code == 200
    again = client.post(_path(url))
    assert again.status_code == 409
    assert b"used already" in again.content
    assert request.votes.count() == 1


def test_two_submissions_of_one_link_racing_use_it_once(requester, mailed, transactional_db):
    request = make_request(requester)
    url = email_links_create(request=request, recipient="reviewer@example.com")["reject"]
    token = url.rstrip("/").rsplit("/", 1)[1]
    outcomes = race(*[lambda: email_link_use(token=token, user=mailed, comment="no")] * 3)
    assert sum(isinstance(outcome, ActionRequest) for outcome in outcomes) == 1
    assert EmailLink.objects.get(decision="reject").used_at is not None
    assert ActionRequest.objects.get(pk=request.pk).status == "rejected"


def test_a_reject_link_keeps_a_comment_as_long_as_the_console_allows_and_cuts_it_there(requester, mailed):
    """One limit for a decision's comment, wherever it is written (approvals.services)."""
    shown, long = make_request(requester), make_request(requester, call_index=1)
    form = _logged_in(mailed).get(
        _path(email_links_create(request=shown, recipient="reviewer@example.com")["reject"])
    )
    assert f'maxlength="{MAX_COMMENT_CHARS}"'.encode() in form.content
    url = email_links_create(request=long, recipient="reviewer@example.com")["reject"]
    comment = "r" * MAX_COMMENT_CHARS
    assert _logged_in(mailed).post(_path(url), {"comment": comment + "cut"}).status_code == 200
    long.refresh_from_db()
    assert (long.status, long.decision_comment) == ("rejected", comment)


def test_a_link_for_an_older_version_is_stale_and_stays_unused(requester, mailed, tool_server):
    from tests.factories import make_http_tool

    make_http_tool("refund_tool", tool_server[0], risk_tier="high")
    request = make_request(requester, approvals_required=2)
    url = email_links_create(request=request, recipient="reviewer@example.com")["approve"]
    action_request_decide(
        action_request=request,
        actor=make_reviewer("editor"),
        decision="approve",
        arguments={"i": 9},
        version=1,
    )
    client = _logged_in(mailed)
    assert b"this link will be refused" in client.get(_path(url)).content
    response = client.post(_path(url))
    assert response.status_code == 409
    assert b"version 1" in response.content
    assert EmailLink.objects.get(decision="approve").used_at is None
    assert not request.votes.filter(reviewer=mailed).exists()


def test_a_link_opened_by_someone_else_is_refused(requester, mailed):
    request = make_request(requester)
    url = email_links_create(request=request, recipient="reviewer@example.com")["approve"]
    other = make_reviewer("other")
    other.email = "other@example.com"
    other.save()
    response = _logged_in(other).post(_path(url))
    assert response.status_code == 403
    assert ActionRequest.objects.get(pk=request.pk).status == "pending"


def test_the_submitter_cannot_approve_through_a_link(requester):
    requester.email = "requester@example.com"
    requester.save()
    requester.groups.add(*make_reviewer("someone").groups.all())
    request = make_request(requester)
    url = email_links_create(request=request, recipient="requester@example.com")["approve"]
    response = _logged_in(requester).post(_path(url))
    assert response.status_code == 403
    assert b"another reviewer must approve" in response.content
    assert EmailLink.objects.get(decision="approve").used_at is None


def test_a_link_expires_with_its_request(requester, mailed, time_machine):
    request = make_request(requester, expires_at=clock.now() + timedelta(minutes=10))
    url = email_links_create(request=request, recipient="reviewer@example.com")["approve"]
    assert EmailLink.objects.get(decision="approve").expires_at == request.expires_at
    time_machine.move_to(clock.now() + timedelta(minutes=11), tick=False)
    response = _logged_in(mailed).post(_path(url))
    assert response.status_code == 409
    assert b"expired" in response.content


@pytest.mark.parametrize("token", ["nonsense", "a" * 300, "Ym9ndXM:1abc:xyz"])
def test_forged_or_altered_tokens_are_not_found(mailed, token):
    assert _logged_in(mailed).get(f"/notifications/email/{token}/").status_code == 404
    assert _logged_in(mailed).post(f"/notifications/email/{token}/").status_code == 404


def test_a_token_signed_for_another_purpose_is_not_found(mailed, requester):
    from django.core import signing

    link = EmailLink.objects.create(
        request=make_request(requester),
        recipient="reviewer@example.com",
        decision="approve",
        version=1,
        expires_at=clock.now() + timedelta(hours=1),
        created_at=clock.now(),
    )
    token = signing.dumps(str(link.id))  # Django's default salt, not the links'
    assert _logged_in(mailed).post(f"/notifications/email/{token}/").status_code == 404
    assert link.request.status == "pending"


def test_a_critical_request_gets_no_decision_links(requester):
    assert (
        email_links_create(request=make_request(requester, tier="critical"), recipient="x@example.com") == {}
    )


def test_a_group_mails_its_list_about_new_requests(
    requester, mailoutbox, inline_tasks, django_capture_on_commit_callbacks
):
    from approvals.live import action_request_publish

    group_channels(slack_channel="", emails=["a@example.com", "b@example.com"], events=["created"])
    request = make_request(requester)
    with django_capture_on_commit_callbacks(execute=True):
        action_request_publish(request_id=request.id, event="created")
    assert sorted(mail.to[0] for mail in mailoutbox) == ["a@example.com", "b@example.com"]
    assert (
        EmailLink.objects.filter(recipient="a@example.com").count() == 2
    )  # approve and reject, per recipient

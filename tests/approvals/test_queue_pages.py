"""The queue page and the admin pages: who may open them, escaping, decisions, policy edits."""

import json
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from agents.models import Tool
from approvals.models import ActionRequest, ActionVote, PolicyRule, PolicyVersion
from core import clock
from tests.approvals.conftest import make_request, make_reviewer

pytestmark = pytest.mark.django_db

HOSTILE = "<img src=x onerror=alert(1)>"
QUEUE_PAGES = ["/approvals/"]
ADMIN_PAGES = ["/approvals/policy/", "/approvals/tools/", "/approvals/dry-run/"]


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", QUEUE_PAGES + ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize("path", QUEUE_PAGES + ADMIN_PAGES)
def test_api_users_and_outsiders_are_refused(requester, outsider, path):
    assert logged_in(requester).get(path).status_code == 403
    assert logged_in(outsider).get(path).status_code == 403


def test_reviewers_open_the_queue_but_not_the_admin_pages(reviewer):
    client = logged_in(reviewer)
    assert client.get("/approvals/").status_code == 200
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", QUEUE_PAGES + ADMIN_PAGES)
def test_admins_open_every_page(admin, path):
    assert logged_in(admin).get(path).status_code == 200


def test_a_hostile_argument_never_reaches_the_page_as_markup(requester, reviewer):
    make_request(requester, arguments={"note": HOSTILE}, reasoning=HOSTILE)
    response = logged_in(reviewer).get("/approvals/")
    html = response.content.decode()
    assert HOSTILE not in html
    assert "<img" not in html
    assert "\\u003Cimg src=x onerror=alert(1)\\u003E" in html  # as JSON data, for textContent


def test_a_reviewer_approves_from_the_page(requester, reviewer):
    request = make_request(requester)
    response = logged_in(reviewer).post(
        f"/approvals/{request.id}/decide/",
        json.dumps({"decision": "approve"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["request"]["status"] == "approved"


def test_a_reviewer_of_another_group_cannot_see_or_decide(requester, admin):
    request = make_request(requester)
    finance = User.objects.create_user("finance-reviewer")
    finance.groups.add(Group.objects.create(name="finance"))
    PolicyRule.objects.create(tool="*", tier="high", reviewer_group="finance")
    client = logged_in(finance)
    assert client.get("/approvals/").status_code == 200
    assert str(request.id) not in client.get("/approvals/").content.decode()
    response = client.post(
        f"/approvals/{request.id}/decide/",
        json.dumps({"decision": "approve"}),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert client.get(f"/approvals/{request.id}/context/").status_code == 404
    assert ActionRequest.objects.get().status == "pending"


def test_the_context_shows_the_tasks_input(requester, reviewer):
    request = make_request(requester)
    body = logged_in(reviewer).get(f"/approvals/{request.id}/context/").json()
    assert body["input"] == "go"
    assert body["request"]["id"] == str(request.id)


def test_a_refused_decision_is_a_json_error(requester):
    request = make_request(requester)
    admin_owner = User.objects.create_user("boss", is_staff=True)
    request.task.owner = admin_owner
    request.task.save()
    response = logged_in(admin_owner).post(
        f"/approvals/{request.id}/decide/",
        json.dumps({"decision": "approve"}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "another reviewer" in response.json()["error"]["message"]


def test_an_admin_raises_a_tools_tier_and_a_new_policy_version_is_recorded(admin):
    tool = Tool.objects.create(name="send_email", url="http://127.0.0.1:9/")
    response = logged_in(admin).post("/approvals/tools/", {"tool": tool.pk, "risk_tier": "high"})
    assert response.status_code == 302
    tool.refresh_from_db()
    assert tool.risk_tier == "high"
    assert PolicyVersion.objects.get().snapshot["tools"] == {"send_email": "high"}


def test_an_invalid_rule_form_names_the_field_and_saves_nothing(admin):
    Tool.objects.create(name="issue_refund", url="http://127.0.0.1:9/")
    form = {
        "tool": "issue_refund",
        "condition": "args.amount >",
        "tier": "high",
        "delay_s": 300,
        "approvals_required": 1,
        "reviewer_group": "reviewers",
        "priority": 0,
    }
    response = logged_in(admin).post("/approvals/policy/", form)
    assert response.status_code == 200
    assert 'data-field="condition"' in response.content.decode()
    assert not PolicyRule.objects.exists()
    form["condition"] = "args.amount > 100"
    assert logged_in(admin).post("/approvals/policy/", form).status_code == 302
    assert PolicyRule.objects.get().condition == "args.amount > 100"


def test_rest_queue_authorization(client, requester_api, reviewer_api, admin_api, outsider_api, requester):
    request = make_request(requester)
    assert client.get("/api/v1/approvals?status=pending").status_code == 401
    assert requester_api.get("/api/v1/approvals").status_code == 403
    assert outsider_api.get("/api/v1/approvals").status_code == 403
    assert [item["id"] for item in reviewer_api.get("/api/v1/approvals?status=pending").json()["items"]] == [
        str(request.id)
    ]
    assert len(admin_api.get("/api/v1/approvals").json()["items"]) == 1
    decision = {"decision": "approve"}
    assert (
        outsider_api.post(
            f"/api/v1/approvals/{request.id}/decision", decision, content_type="application/json"
        ).status_code
        == 404
    )
    bad = reviewer_api.post(
        f"/api/v1/approvals/{request.id}/decision", {"decision": "maybe"}, content_type="application/json"
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "decision"
    ok = reviewer_api.post(
        f"/api/v1/approvals/{request.id}/decision", decision, content_type="application/json"
    )
    assert ok.status_code == 200
    assert ok.json()["status"] == "approved"
    again = reviewer_api.post(
        f"/api/v1/approvals/{request.id}/decision", decision, content_type="application/json"
    )
    assert again.status_code == 200  # idempotent per reviewer
    late = admin_api.post(
        f"/api/v1/approvals/{request.id}/decision", {"decision": "reject"}, content_type="application/json"
    )
    assert late.status_code == 409


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("[" * 100_000, 400),  # deeper than any parser's recursion
        ("{", 400),
        ("[]", 400),
        ('{"decision": "reject", "comment": "\\u0000"}', 422),  # PostgreSQL text refuses NUL
        ('{"decision": "approve", "arguments": {"\\u0000": 1}}', 422),
        ('{"decision": "approve", "version": 99999999999999999999}', 422),
        ('{"decision": "approve", "arguments": [1]}', 422),
    ],
)
def test_a_hostile_decision_body_is_a_json_4xx_and_changes_nothing(requester, reviewer, body, status):
    request = make_request(requester)
    response = logged_in(reviewer).post(
        f"/approvals/{request.id}/decide/", body, content_type="application/json"
    )
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"]
    assert ActionRequest.objects.get().status == "pending"


def test_queue_page_and_rest_list_run_a_constant_number_of_queries(
    requester, admin, admin_api, django_assert_max_num_queries
):
    voters = [make_reviewer(f"voter-{n}") for n in range(2)]
    for n in range(40):
        request = make_request(requester, tier="high" if n % 2 else "medium")
        for voter in voters[: n % 3]:
            ActionVote.objects.create(request=request, reviewer=voter, version=1, created_at=clock.now())
    page = logged_in(admin)

    # Login session and user, the pending requests with their vote counts, the 7-day metrics.
    with django_assert_max_num_queries(5):
        response = page.get("/approvals/")
    items = response.context["items"]
    assert len(items) == 40
    assert sorted({item["approvals"] for item in items}) == [0, 1, 2]
    # Token, its last use, the requests with their vote counts.
    with django_assert_max_num_queries(4):
        listed = admin_api.get("/api/v1/approvals?status=pending").json()["items"]
    assert len(listed) == 40


def test_the_queue_pages_metrics_are_cached_for_a_while(requester, admin, settings, time_machine):
    from django.core.cache import cache

    settings.APPROVAL_METRICS_CACHE_S = 60
    time_machine.move_to(datetime(2026, 5, 1, 9, 0, tzinfo=UTC), tick=False)
    cache.clear()
    make_request(requester)
    page = logged_in(admin)
    assert page.get("/approvals/").context["metrics"]["high"]["requests"] == 1

    make_request(requester)
    assert page.get("/approvals/").context["metrics"]["high"]["requests"] == 1  # not recomputed
    time_machine.move_to(datetime(2026, 5, 1, 9, 1, 1, tzinfo=UTC), tick=False)
    assert page.get("/approvals/").context["metrics"]["high"]["requests"] == 2


def test_the_tools_page_lists_a_page_of_tools_and_suggests_only_tools_tollgate_calls(admin):
    # External agents add a tool for every name they give the gate API: a year of them must
    # not make the page list every tool, each row offering every other tool.
    Tool.objects.bulk_create(
        Tool(name=f"ext_{n:02}", kind=Tool.Kind.EXTERNAL, risk_tier="high") for n in range(60)
    )
    client = logged_in(admin)

    first = client.get("/approvals/tools/").content.decode()
    second = client.get("/approvals/tools/", {"page": 2}).content.decode()

    assert first.count("<tr data-tool=") == 50
    assert 'data-tool="ext_49"' in first
    assert second.count("<tr data-tool=") == 10
    assert 'data-tool="ext_50"' in second
    # The compensation's suggestions: the tools Tollgate calls, listed once; no external ones.
    Tool.objects.create(name="issue_refund", url="http://127.0.0.1:9/")
    first = client.get("/approvals/tools/").content.decode()
    assert first.count('<option value="issue_refund"') == 1
    assert '<option value="ext_' not in first
    with CaptureQueriesContext(connection) as queries:
        client.get("/approvals/tools/")
    Tool.objects.bulk_create(Tool(name=f"more_{n:02}", kind=Tool.Kind.EXTERNAL) for n in range(40))
    with CaptureQueriesContext(connection) as more_queries:
        client.get("/approvals/tools/")
    assert len(more_queries) == len(queries)


def test_a_tools_compensation_is_set_from_the_tools_page(admin):
    refund = Tool.objects.create(name="issue_refund", url="http://127.0.0.1:9/")
    Tool.objects.create(name="cancel_refund", url="http://127.0.0.1:9/")
    client = logged_in(admin)

    client.post(
        f"/approvals/tools/{refund.pk}/compensation/",
        {"compensation": "cancel_refund", "compensation_arguments": ""},
    )
    page = client.get("/approvals/tools/").content.decode()

    refund.refresh_from_db()
    assert refund.compensation is not None
    assert refund.compensation.name == "cancel_refund"
    shown = 'value="cancel_refund" placeholder="irreversible" aria-label="compensation of issue_refund"'
    assert shown in page


def test_a_form_sent_from_a_page_of_tools_goes_back_to_that_page(admin):
    Tool.objects.bulk_create(
        Tool(name=f"ext_{n:02}", kind=Tool.Kind.EXTERNAL, risk_tier="high") for n in range(60)
    )
    later = Tool.objects.get(name="ext_55")
    client = logged_in(admin)

    second = client.get("/approvals/tools/", {"page": 2}).content.decode()
    assert f'action="/approvals/tools/{later.pk}/compensation/?page=2"' in second
    tier = client.post("/approvals/tools/?page=2", {"tool": later.pk, "risk_tier": "medium"})
    compensation = client.post(
        f"/approvals/tools/{later.pk}/compensation/?page=2",
        {"compensation": "", "compensation_arguments": ""},
    )
    hostile = client.post("/approvals/tools/?page=2%0d%0aX:1", {"tool": later.pk, "risk_tier": "medium"})

    assert tier.status_code == compensation.status_code == 302
    assert tier["Location"] == compensation["Location"] == "/approvals/tools/?page=2"
    assert hostile["Location"] == "/approvals/tools/"
    later.refresh_from_db()
    assert later.risk_tier == "medium"

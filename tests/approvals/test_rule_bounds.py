"""A rule's numbers are bounded, and a quorum nobody could reach is refused (REST and console).

2**40 in any numeric field used to pass validation and answer 500 from PostgreSQL's integer;
approvals_required=2147483647 was saved: a high-tier rule no set of reviewers could satisfy.
"""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from agents.models import Tool
from approvals.models import AuditEntry, PolicyRule, PolicyVersion
from approvals.policy.services import RULE_BOUNDS, policy_rule_create, policy_rule_update
from core.errors import Invalid

pytestmark = pytest.mark.django_db

NUMBERS = ["delay_s", "approvals_required", "expiry_s", "sla_s", "priority"]


@pytest.fixture
def refund_tool(db) -> Tool:
    return Tool.objects.create(name="issue_refund", url="http://127.0.0.1:9/refund")


def post(client, body):
    return client.post("/api/v1/policy/rules", body, content_type="application/json")


def assert_nothing_saved() -> None:
    assert not PolicyRule.objects.exists()
    assert not PolicyVersion.objects.exists()
    assert not AuditEntry.objects.exists()


def finance(members: int, *, inactive: int = 0) -> Group:
    group = Group.objects.create(name="finance")
    for n in range(members + inactive):
        user = User.objects.create_user(f"finance-{n}", is_active=n < members)
        user.groups.add(group)
    return group


OUT_OF_RANGE = [
    (field, value)
    for field in NUMBERS
    for value in (2**40, -(2**40), 2**31, 2147483647)
    if not RULE_BOUNDS[field][0] <= value <= RULE_BOUNDS[field][1]
]


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE)
def test_an_out_of_range_number_is_refused_over_rest_naming_the_field(admin_api, refund_tool, field, value):
    response = post(admin_api, {"tool": "issue_refund", "tier": "high", field: value})
    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field
    assert_nothing_saved()


@pytest.mark.parametrize("field", NUMBERS)
def test_an_out_of_range_patch_leaves_the_rule_as_it_was(admin_api, refund_tool, field):
    rule_id = post(admin_api, {"tool": "issue_refund", "tier": "high"}).json()["id"]
    response = admin_api.patch(
        f"/api/v1/policy/rules/{rule_id}", {field: 2**40}, content_type="application/json"
    )
    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field
    assert PolicyVersion.objects.count() == 1


def test_the_bounds_themselves_are_accepted(admin_api, refund_tool):
    most = {field: RULE_BOUNDS[field][1] for field in NUMBERS if field != "approvals_required"}
    response = post(admin_api, {"tool": "issue_refund", "tier": "medium", **most})
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("field", NUMBERS)
def test_the_service_refuses_what_a_caller_without_a_schema_sends(admin, refund_tool, field):
    with pytest.raises(Invalid) as refused:
        policy_rule_create(actor=admin, tool="issue_refund", tier="high", **{field: 2**40})
    assert refused.value.field == field
    assert_nothing_saved()


def test_a_quorum_larger_than_the_people_who_may_approve_is_refused_naming_how_many(admin_api, refund_tool):
    finance(members=2, inactive=3)  # + the admin: 3 may approve in finance
    body = {"tool": "issue_refund", "tier": "high", "reviewer_group": "finance", "approvals_required": 4}
    response = post(admin_api, body)
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["field"] == "approvals_required"
    assert "only 3 active people may approve in group 'finance'" in error["message"]
    assert_nothing_saved()

    response = post(admin_api, {**body, "approvals_required": 3})
    assert response.status_code == 201, response.content


def test_the_largest_int_as_a_quorum_is_refused(admin_api, refund_tool):
    response = post(admin_api, {"tool": "issue_refund", "tier": "high", "approvals_required": 2147483647})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "approvals_required"
    assert_nothing_saved()


def test_moving_a_rule_to_a_smaller_group_is_checked_against_that_group(admin, refund_tool):
    finance(members=1)
    User.objects.create_user("r1").groups.add(Group.objects.get_or_create(name="reviewers")[0])
    User.objects.create_user("r2").groups.add(Group.objects.get(name="reviewers"))
    rule = policy_rule_create(actor=admin, tool="issue_refund", tier="high", approvals_required=3)
    with pytest.raises(Invalid) as refused:
        policy_rule_update(actor=admin, rule_id=rule.pk, reviewer_group="finance")
    assert refused.value.field == "approvals_required"
    assert "only 2 active people" in refused.value.message
    assert PolicyRule.objects.get().reviewer_group == "reviewers"


def rule_form(**changes) -> dict:
    return {
        "tool": "issue_refund",
        "tier": "high",
        "delay_s": 300,
        "approvals_required": 1,
        "reviewer_group": "reviewers",
        "priority": 0,
        **changes,
    }


@pytest.mark.parametrize("field", NUMBERS)
@pytest.mark.parametrize("path", ["/approvals/policy/", "/approvals/dry-run/"])
def test_the_console_forms_refuse_out_of_range_numbers_on_the_field(admin, refund_tool, field, path):
    client = Client()
    client.force_login(admin)
    response = client.post(path, rule_form(**{field: 2**40}))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert_nothing_saved()


def test_the_console_form_names_how_many_may_approve(admin, refund_tool):
    client = Client()
    client.force_login(admin)
    response = client.post("/approvals/policy/", rule_form(approvals_required=5))
    assert response.status_code == 200
    [message] = response.context["form"].errors["approvals_required"]
    assert "only 1 active person may approve in group 'reviewers'" in message
    assert_nothing_saved()

"""REST /api/v1/policy/rules: admins only; invalid rules refused naming the field; versions and audit."""

import pytest

from agents.models import Tool
from approvals.audit import audit_verify
from approvals.models import AuditEntry, PolicyRule, PolicyVersion


@pytest.fixture
def refund_tool(db) -> Tool:
    return Tool.objects.create(name="issue_refund", url="http://127.0.0.1:9/refund", risk_tier="medium")


def post(client, body):
    return client.post("/api/v1/policy/rules", body, content_type="application/json")


def test_an_admin_creates_a_rule_and_it_is_versioned_and_audited(admin_api, refund_tool):
    response = post(admin_api, {"tool": "issue_refund", "condition": "args.amount > 100", "tier": "high"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["tier"] == "high"
    assert body["policy_version"] == 1
    entry = AuditEntry.objects.get()
    assert entry.action == "policy.rule_created"
    assert entry.actor_name == "admin"
    assert entry.after["condition"] == "args.amount > 100"

    response = admin_api.patch(
        f"/api/v1/policy/rules/{body['id']}", {"priority": 5}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["policy_version"] == 2
    changed = AuditEntry.objects.order_by("-seq").first()
    assert changed.before["priority"] == 0
    assert changed.after["priority"] == 5

    assert admin_api.delete(f"/api/v1/policy/rules/{body['id']}").status_code == 204
    assert PolicyVersion.objects.count() == 3
    assert admin_api.get("/api/v1/policy/rules").json() == []
    assert audit_verify().ok


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tool": "issue_refund", "condition": "args.amount >", "tier": "high"}, "condition"),
        ({"tool": "no_such_tool", "tier": "high"}, "tool"),
        ({"tool": "issue_refund", "tier": "high", "delay_s": -1}, "delay_s"),
        ({"tool": "issue_refund", "tier": "urgent"}, "tier"),
        ({"tool": "issue_refund", "tier": "high", "approvals_required": 0}, "approvals_required"),
        ({"tool": "issue_refund", "tier": "high", "agent": "nobody"}, "agent"),
        ({"tool": "issue_refund", "tier": "high", "reviewer_group": "nope"}, "reviewer_group"),
    ],
)
def test_invalid_rules_are_refused_naming_the_field_and_nothing_is_saved(admin_api, refund_tool, body, field):
    response = post(admin_api, body)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field
    assert not PolicyRule.objects.exists()
    assert not PolicyVersion.objects.exists()
    assert not AuditEntry.objects.exists()


def test_a_bad_patch_leaves_the_rule_as_it_was(admin_api, refund_tool):
    rule_id = post(admin_api, {"tool": "issue_refund", "tier": "high"}).json()["id"]
    response = admin_api.patch(
        f"/api/v1/policy/rules/{rule_id}", {"condition": "(("}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "condition"
    assert PolicyRule.objects.get().condition == ""
    assert PolicyVersion.objects.count() == 1


@pytest.mark.parametrize("persona", ["requester_api", "reviewer_api", "outsider_api"])
def test_only_admins_may_read_or_change_the_policy(request, persona, refund_tool):
    client = request.getfixturevalue(persona)
    assert client.get("/api/v1/policy/rules").status_code == 403
    assert post(client, {"tool": "issue_refund", "tier": "high"}).status_code == 403
    assert client.delete("/api/v1/policy/rules/1").status_code == 403


def test_anonymous_gets_401(client):
    assert client.get("/api/v1/policy/rules").status_code == 401


def test_unknown_rule_is_404(admin_api):
    assert admin_api.delete("/api/v1/policy/rules/999").status_code == 404

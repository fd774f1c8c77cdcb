"""The dry run tiers past tool calls under a draft rule without saving anything."""

import pytest
from django.test import Client

from agents.models import Step, Tool
from approvals.models import PolicyRule, PolicyVersion
from approvals.policy.dry_run import policy_dry_run
from core import clock
from tests.approvals.conftest import make_request

pytestmark = pytest.mark.django_db


def past_call(task, index: int, amount: int) -> None:
    Step.objects.create(
        task=task,
        index=index,
        model="sim/refund",
        started_at=clock.now(),
        response={
            "content": "",
            "tool_calls": [{"id": f"c{index}", "name": "issue_refund", "arguments": {"amount": amount}}],
        },
    )


def test_a_draft_rule_shows_which_past_calls_would_change_tier(requester, admin):
    Tool.objects.create(name="issue_refund", url="http://127.0.0.1:9/", risk_tier="medium")
    task = make_request(requester).task
    past_call(task, 0, 50)
    past_call(task, 1, 500)
    draft = PolicyRule(tool="issue_refund", condition="args.amount > 100", tier="high", priority=0)

    report = policy_dry_run(draft=draft, days=7)

    assert [(row.current, row.draft) for row in sorted(report.rows, key=lambda r: r.arguments["amount"])] == [
        ("medium", "medium"),
        ("medium", "high"),
    ]
    assert report.changed == 1
    assert not PolicyRule.objects.exists()

    client = Client()
    client.force_login(admin)
    response = client.post(
        "/approvals/dry-run/",
        {
            "tool": "issue_refund",
            "condition": "args.amount > 100",
            "tier": "high",
            "delay_s": 300,
            "approvals_required": 1,
            "reviewer_group": "reviewers",
            "priority": 0,
            "days": 7,
        },
    )
    assert response.status_code == 200
    assert "1 would change tier" in response.content.decode()
    assert not PolicyRule.objects.exists()
    assert not PolicyVersion.objects.exists()

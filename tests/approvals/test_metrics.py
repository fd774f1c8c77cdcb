"""Approval metrics per tier: time to decision, expiries, auto-executions, cancel rate."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User

from approvals.selectors import AUTO_SEND_NOTE, approval_metrics
from core import clock
from tests.approvals.conftest import make_request

pytestmark = pytest.mark.django_db


def test_metrics_count_each_outcome_per_tier(requester, reviewer):
    now = clock.now()
    decided = {"decided_at": now, "created_at": now - timedelta(seconds=10)}
    make_request(requester, call_index=0, status="approved", decided_by=reviewer, **decided)
    make_request(
        requester,
        call_index=1,
        status="approved",
        decided_by=reviewer,
        decided_at=now,
        created_at=now - timedelta(seconds=30),
    )
    make_request(requester, call_index=2, status="expired", decided_at=now, created_at=now)
    make_request(
        requester,
        call_index=3,
        tier="medium",
        status="executed",
        decided_at=now,
        created_at=now,
        decision_comment=AUTO_SEND_NOTE,
    )
    make_request(
        requester,
        call_index=4,
        tier="medium",
        status="cancelled",
        decided_by=reviewer,
        decided_at=now,
        created_at=now,
    )

    metrics = approval_metrics()

    assert metrics["high"]["requests"] == 3
    assert metrics["high"]["expired"] == 1
    assert metrics["high"]["decision_p50_s"] == 20.0
    assert metrics["medium"]["auto_executed"] == 1
    assert metrics["medium"]["cancel_rate"] == 0.5


def test_rest_decisions_are_refused_to_another_reviewer_group(requester):
    from django.test import Client

    from console.tokens import api_token_create

    request = make_request(requester)
    finance = User.objects.create_user("finance-reviewer")
    finance.groups.add(Group.objects.create(name="finance"))
    raw, _ = api_token_create(user=finance, name="t")
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    from approvals.models import PolicyRule

    PolicyRule.objects.create(tool="*", tier="high", reviewer_group="finance", priority=-1)
    assert client.get("/api/v1/approvals").json()["items"] == []
    response = client.post(
        f"/api/v1/approvals/{request.id}/decision", {"decision": "approve"}, content_type="application/json"
    )
    assert response.status_code == 404

from typing import Any

import pytest
from django.test import Client

from approvals.models import ActionRequest, ExternalAction


def ask(client: Client, **fields: Any) -> Any:
    body = {"agent": "outside", "session": "conv-1", "tool": "refund", "arguments": {"amount": 5}, **fields}
    return client.post("/api/v1/actions", body, content_type="application/json")


def poll(client: Client, action_id: str, wait: float = 0) -> Any:
    return client.get(f"/api/v1/actions/{action_id}?wait={wait}")


def report(client: Client, answer: dict, status: str = "success", result: Any = None) -> Any:
    body = {"execution_token": answer["execution_token"], "status": status, "result": result}
    return client.post(f"/api/v1/actions/{answer['id']}/result", body, content_type="application/json")


def pending_request() -> ActionRequest:
    """The first pending request, once a caller in another thread has asked for it."""
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = ActionRequest.objects.filter(status="pending").first()
        if found is not None:
            return found
        time.sleep(0.05)
    raise AssertionError("no request was created")


def request_of(answer: dict) -> ActionRequest:
    return ExternalAction.objects.select_related("request").get(pk=answer["id"]).request


@pytest.fixture
def tiers(admin, reviewer) -> None:
    """refund: low up to 100, high above (CEL), two-person above 1000; wipe: critical; email: medium."""
    from agents.models import Tool
    from approvals.policy.services import policy_rule_create

    for name in ("refund", "wipe", "email"):
        Tool.objects.create(name=name, kind=Tool.Kind.EXTERNAL, risk_tier="high")

    policy_rule_create(
        actor=admin,
        tool="refund",
        condition="args.amount > 1000",
        tier="high",
        priority=30,
        approvals_required=2,
    )
    policy_rule_create(
        actor=admin, tool="refund", condition="args.amount > 100", tier="high", priority=20, expiry_s=600
    )
    policy_rule_create(actor=admin, tool="refund", tier="low", priority=10)
    policy_rule_create(actor=admin, tool="wipe", tier="critical", priority=10)
    policy_rule_create(actor=admin, tool="email", tier="medium", delay_s=120, priority=10)

"""The live rules are read once per policy version; any change applies to the next call."""

import threading

import pytest
from django.db import connection

from approvals.policy.evaluate import policy_evaluate
from approvals.policy.services import policy_rule_create, policy_rule_delete, policy_rule_update
from tests.factories import make_http_tool


def evaluate() -> str:
    return policy_evaluate(tool="issue_refund", agent="bot", args={"amount": 500}, default_tier="low").tier


@pytest.mark.django_db
def test_rules_are_read_once_per_policy_version(admin, django_assert_num_queries):
    make_http_tool("issue_refund", "http://127.0.0.1:9/")
    policy_rule_create(actor=admin, tool="issue_refund", condition="args.amount > 100", tier="high")
    evaluate()
    # Only the version marker: one row through the unique index on the version number.
    for _ in range(3):
        with django_assert_num_queries(1):
            assert evaluate() == "high"


@pytest.mark.django_db
def test_each_change_applies_to_the_next_call(admin):
    make_http_tool("issue_refund", "http://127.0.0.1:9/")
    assert evaluate() == "low"
    rule = policy_rule_create(actor=admin, tool="issue_refund", condition="args.amount > 100", tier="high")
    assert evaluate() == "high"
    policy_rule_update(actor=admin, rule_id=rule.pk, tier="critical")
    assert evaluate() == "critical"
    policy_rule_delete(actor=admin, rule_id=rule.pk)
    assert evaluate() == "low"


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_on_another_connection_applies_to_the_next_call(admin):
    """What another process sees: this one holds the rules in memory, another commits a change."""
    make_http_tool("issue_refund", "http://127.0.0.1:9/")
    assert evaluate() == "low"

    def change() -> None:
        try:
            policy_rule_create(actor=admin, tool="issue_refund", condition="args.amount > 100", tier="high")
        finally:
            connection.close()

    other = threading.Thread(target=change)
    other.start()
    other.join()
    assert evaluate() == "high"

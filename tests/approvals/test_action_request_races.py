"""Races run for real, with threads on separate database connections."""

from datetime import timedelta

import pytest

from agents.runtime.loop import task_steps_run
from approvals.models import ActionRequest
from approvals.policy.services import policy_rule_create, tool_tier_set
from approvals.services import StaleVersion, action_request_decide, action_request_timeout
from tests.approvals.conftest import make_reviewer, run, submit, the_request
from tests.support.races import race

pytestmark = pytest.mark.django_db(transaction=True)


def test_ten_concurrent_approvals_execute_the_action_once(requester, chain_agent):
    _, server = chain_agent
    task = submit(requester)
    run(task)
    request = the_request(task)
    reviewers = [make_reviewer(f"reviewer{index}") for index in range(10)]

    race(
        *[
            (
                lambda reviewer=reviewer: action_request_decide(
                    action_request=request, actor=reviewer, decision="approve"
                )
            )
            for reviewer in reviewers
        ]
    )
    request.refresh_from_db()
    assert request.status == "approved"
    # Ten workers given the resumed task at once: one claims it, the action runs once.
    race(*[(lambda: task_steps_run(task_id=task.id, max_steps=20, max_seconds=60)) for _ in range(10)])
    request.refresh_from_db()
    assert request.status == "executed"
    assert server.side_effects == 1
    assert server.requests == 1


@pytest.mark.parametrize("attempt", range(5))
def test_cancel_racing_the_auto_send_deadline_never_runs_a_cancelled_action(
    requester, reviewer, admin, chain_agent, attempt
):
    tool, server = chain_agent
    tool_tier_set(actor=admin, tool=tool, tier="medium")
    task = submit(requester)
    run(task)
    request = the_request(task)
    ActionRequest.objects.filter(pk=request.pk).update(autosend_at=request.created_at - timedelta(seconds=1))

    cancel, autosend = race(
        lambda: action_request_decide(action_request=request, actor=reviewer, decision="cancel"),
        lambda: action_request_timeout(request_id=request.id),
    )
    request.refresh_from_db()
    cancelled = not isinstance(cancel, Exception)
    assert cancelled != (autosend == "approved")  # exactly one of them won
    run(task)
    request.refresh_from_db()
    if cancelled:
        assert request.status == "cancelled"
        assert server.requests == 0
    else:
        assert request.status == "executed"
        assert server.requests == 1  # received at the tool: sent once, not once per key
        assert server.side_effects == 1


@pytest.mark.parametrize("attempt", range(5))
def test_approve_racing_expiry_has_one_winner(requester, reviewer, chain_agent, attempt):
    _, server = chain_agent
    task = submit(requester)
    run(task)
    request = the_request(task)
    ActionRequest.objects.filter(pk=request.pk).update(expires_at=request.created_at - timedelta(seconds=1))

    _approve, expire = race(
        lambda: action_request_decide(action_request=request, actor=reviewer, decision="approve"),
        lambda: action_request_timeout(request_id=request.id),
    )
    request.refresh_from_db()
    assert request.status in ("approved", "expired")
    assert (request.status == "expired") == (expire == "expired")
    run(task)
    # Counted as requests received at the tool, not as distinct idempotency keys.
    assert server.requests == (1 if request.status == "approved" else 0)
    assert server.side_effects == server.requests


@pytest.mark.parametrize("attempt", range(5))
def test_an_edit_racing_a_plain_approval_never_reaches_a_quorum_of_two(
    requester, reviewer, admin, chain_agent, attempt
):
    _, server = chain_agent
    policy_rule_create(actor=admin, tool="refund_tool", tier="high", approvals_required=2)
    task = submit(requester)
    run(task)
    request = the_request(task)
    second = make_reviewer("second")

    edit, plain = race(
        lambda: action_request_decide(
            action_request=request, actor=reviewer, decision="approve", arguments={"i": 9}
        ),
        lambda: action_request_decide(action_request=request, actor=second, decision="approve", version=1),
    )
    request.refresh_from_db()
    assert not isinstance(edit, Exception)
    assert (request.status, request.version) == ("pending", 2)
    assert request.votes.filter(version=2).count() == 1  # the editor's alone
    # The plain approval either came first (a vote for version 1) or saw version 2 and was refused.
    assert isinstance(plain, StaleVersion) or request.votes.filter(version=1, reviewer=second).exists()
    run(task)
    assert server.requests == 0

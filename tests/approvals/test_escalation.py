"""Escalation: a request past its SLA is flagged once (its notices: tests/notifications/test_notices.py)."""

from datetime import timedelta

import pytest
import time_machine

from approvals.services import action_requests_sweep
from core import clock
from tests.approvals.conftest import make_request

pytestmark = pytest.mark.django_db


def test_the_sweeper_flags_a_request_once_past_its_sla(requester):
    request = make_request(requester, sla_at=clock.now() + timedelta(minutes=15))
    assert action_requests_sweep()["escalated"] == 0
    with time_machine.travel(clock.now() + timedelta(minutes=16)):
        assert action_requests_sweep()["escalated"] == 1
        assert action_requests_sweep()["escalated"] == 0
    request.refresh_from_db()
    assert request.escalated_at is not None

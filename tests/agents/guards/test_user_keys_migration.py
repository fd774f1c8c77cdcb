"""Migrating user-day keys under their account moves the ledger's rows with them, and back."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from agents.guards.models import SpendRecord
from agents.models import Session
from core import clock
from tests.factories import make_agent

BEFORE = ("guards", "0002_alerts")
AFTER = ("guards", "0003_user_keys_under_owner")


def _migrate(target: tuple[str, str]) -> None:
    MigrationExecutor(connection).migrate([target])


def _row(session_id: uuid.UUID, user_key: str, *, days_ago: int = 0) -> SpendRecord:
    return SpendRecord.objects.create(
        reservation=uuid.uuid4().hex,
        task_id=uuid.uuid4(),
        session_id=session_id,
        user_key=user_key,
        model="sim/x",
        cost_usd=Decimal("0.1"),
        at=clock.now() - timedelta(days=days_ago),
    )


@pytest.mark.django_db(transaction=True)
def test_ledger_rows_take_their_sessions_account_and_give_it_back(requester, outsider):
    agent = make_agent("keyed", model="sim/echo")
    session = Session.objects.create(agent=agent, agent_version=agent.current_version, owner=outsider)
    _migrate(BEFORE)
    try:
        rows = {
            "own": _row(session.pk, f"owner-{outsider.pk}"),
            "end user": _row(session.pk, "alice"),
            "named another account": _row(session.pk, f"owner-{requester.pk}"),
            "session gone": _row(uuid.uuid4(), "bob"),
            "a month old": _row(session.pk, "carol", days_ago=30),
        }
    finally:
        _migrate(AFTER)

    def keys() -> dict[str, str]:
        return {name: SpendRecord.objects.get(pk=row.pk).user_key for name, row in rows.items()}

    assert keys() == {
        "own": f"owner-{outsider.pk}",
        "end user": f"owner-{outsider.pk}/alice",
        "named another account": f"owner-{outsider.pk}/owner-{requester.pk}",
        "session gone": "bob",
        "a month old": "carol",  # no counter is rebuilt from it: it keeps its key
    }
    _migrate(BEFORE)
    try:
        assert keys() == {
            "own": f"owner-{outsider.pk}",
            "end user": "alice",
            "named another account": f"owner-{requester.pk}",
            "session gone": "bob",
            "a month old": "carol",
        }
    finally:
        _migrate(AFTER)

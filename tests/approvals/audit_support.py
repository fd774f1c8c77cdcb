"""Helpers for the audit chain's tests: entries to tamper with, and an attacker's database rights."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from approvals.audit import audit_append
from approvals.models import AuditEntry


def append_entries(count: int, *, actor=None) -> list[AuditEntry]:
    return [
        audit_append(actor=actor, action="test.x", object_type="t", object_id=str(index), after={"i": index})
        for index in range(count)
    ]


@contextmanager
def tampering() -> Iterator[None]:
    """Act as the table's owner, who may switch the append-only trigger off (until the test's rollback)."""
    _alter_trigger("DISABLE")
    try:
        yield
    finally:
        _alter_trigger("ENABLE")


def _alter_trigger(state: str) -> None:
    with connection.cursor() as cursor:
        # ALTER TABLE refuses while deferred foreign-key checks are queued: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE approvals_auditentry {state} TRIGGER approvals_auditentry_append_only")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")

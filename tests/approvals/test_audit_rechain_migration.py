"""Migrating to the HMAC chain re-chains existing entries and records what the old chain said."""

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from approvals.audit import GENESIS_MAC, audit_verify
from approvals.models import AuditEntry
from core import clock

rechain_migration = importlib.import_module("approvals.migrations.0002_audit_mac")


def _migrate_back_to(target: tuple[str, str]):
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


def _migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_old_entries_are_rechained_and_the_old_chains_breaks_are_recorded():
    old = _migrate_back_to(("approvals", "0001_initial"))
    try:
        OldEntry, OldUser = old.get_model("approvals", "AuditEntry"), old.get_model("auth", "User")
        keeper = OldUser.objects.create(username="keeper")
        leaver = OldUser.objects.create(username="leaver")
        prev = GENESIS_MAC
        for seq, actor in enumerate([leaver, keeper, keeper], start=1):
            entry = OldEntry(
                seq=seq,
                at=clock.now(),
                actor=actor,
                actor_name=actor.username,
                action="test.x",
                object_type="t",
                object_id=str(seq),
                after={"i": seq},
                prev_hash=prev,
            )
            entry.hash = rechain_migration._legacy_hash(prev, entry)
            entry.save()
            prev = entry.hash
        leaver.delete()  # the old chain can no longer check entry 1
        OldEntry.objects.filter(seq=3).update(after={"i": 99})  # and entry 3 was tampered with
    finally:
        _migrate_to_latest()

    assert audit_verify().ok
    note = AuditEntry.objects.order_by("seq").last()
    assert (note.seq, note.action, note.actor_name) == (4, "audit.rechained", "system")
    assert note.before["entries"] == 3
    assert note.before["broken"] == "entry 3: its content does not match its hash"
    assert note.before["unverifiable_deleted_users"] == 1
    assert AuditEntry.objects.get(seq=3).after == {"i": 99}

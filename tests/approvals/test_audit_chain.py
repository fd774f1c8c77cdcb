"""The audit log's hash chain detects edits and deletions; appends from threads stay one chain."""

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from approvals.audit import audit_append, audit_verify
from approvals.models import AuditEntry


@pytest.mark.django_db
def test_an_untouched_chain_verifies(admin):
    for index in range(3):
        audit_append(actor=admin, action="test.x", object_type="t", object_id=str(index), after={"i": index})
    assert audit_verify().ok
    call_command("audit_verify")


@pytest.mark.django_db
def test_editing_a_row_breaks_the_chain_at_that_row(admin):
    for index in range(3):
        audit_append(actor=admin, action="test.x", object_type="t", object_id=str(index), after={"i": index})
    AuditEntry.objects.filter(seq=2).update(after={"i": 99})
    report = audit_verify()
    assert report.broken_at == 2
    with pytest.raises(CommandError, match="entry 2"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_deleting_a_row_breaks_the_chain(admin):
    for index in range(3):
        audit_append(actor=admin, action="test.x", object_type="t", object_id=str(index))
    AuditEntry.objects.filter(seq=2).delete()
    assert audit_verify().broken_at == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_form_one_unbroken_chain(admin):
    barrier = threading.Barrier(8)

    def append(index: int) -> None:
        try:
            barrier.wait()
            audit_append(actor=None, action="test.race", object_type="t", object_id=str(index))
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert AuditEntry.objects.count() == 8
    assert audit_verify().ok

"""The database refuses UPDATE and DELETE on the audit table, except deleting a user's NULLing of actor."""

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, transaction

from approvals.models import AuditEntry
from tests.approvals.audit_support import append_entries

pytestmark = pytest.mark.django_db


def test_updating_an_entry_is_refused(admin):
    append_entries(1, actor=admin)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(seq=1).update(after={"i": 99})
    assert AuditEntry.objects.get(seq=1).after == {"i": 0}


def test_deleting_an_entry_is_refused(admin):
    append_entries(2, actor=admin)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(seq=2).delete()
    assert AuditEntry.objects.count() == 2


def test_nulling_the_actor_together_with_another_column_is_refused(admin):
    append_entries(1, actor=admin)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(seq=1).update(actor=None, actor_name="someone else")


def test_deleting_a_user_nulls_the_actor_and_keeps_the_name():
    leaver = User.objects.create_user("leaver", password="leaver-pass")
    append_entries(1, actor=leaver)
    leaver.delete()
    assert AuditEntry.objects.values_list("actor_id", "actor_name").get() == (None, "leaver")

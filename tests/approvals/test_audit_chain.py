"""The audit log's HMAC chain: edits and deletions are found, recomputing without the key does not
help, deleting a user breaks nothing, and appends from threads stay one chain."""

from functools import partial

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from approvals.audit import audit_append, audit_verify, entry_mac
from approvals.models import AuditEntry
from tests.approvals.audit_support import append_entries, tampering
from tests.support.races import race


@pytest.mark.django_db
def test_an_untouched_chain_verifies(admin):
    append_entries(3, actor=admin)
    assert audit_verify().ok
    call_command("audit_verify")


@pytest.mark.django_db
def test_editing_a_row_breaks_the_chain_at_that_row(admin):
    append_entries(3, actor=admin)
    with tampering():
        AuditEntry.objects.filter(seq=2).update(after={"i": 99})
    report = audit_verify()
    assert report.broken_at == 2
    with pytest.raises(CommandError, match="entry 2"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_rewriting_a_row_and_recomputing_the_later_macs_without_the_key_is_found(admin):
    """The attacker has the table and the code, not AUDIT_HMAC_KEY: any key they guess fails at once."""
    append_entries(4, actor=admin)
    with tampering():
        prev_mac = AuditEntry.objects.get(seq=1).mac
        for entry in AuditEntry.objects.filter(seq__gte=2).order_by("seq"):
            if entry.seq == 2:
                entry.after = {"i": 99}
            entry.prev_mac = prev_mac
            entry.mac = entry_mac(key=b"a guessed key", prev_mac=prev_mac, entry=entry)
            entry.save()
            prev_mac = entry.mac
    report = audit_verify()
    assert report.broken_at == 2
    assert "MAC" in report.findings[0].reason


@pytest.mark.django_db
def test_deleting_a_middle_row_reports_the_missing_entry(admin):
    append_entries(4, actor=admin)
    with tampering():
        AuditEntry.objects.filter(seq=2).delete()
    report = audit_verify()
    assert report.broken_at == 2
    assert report.findings[0].reason == "entry 2 is missing"
    with pytest.raises(CommandError, match="entry 2"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_deleting_a_user_who_acted_keeps_the_chain_valid():
    """Offboarding NULLs the entry's actor (SET_NULL); the MAC covers the name kept beside it."""
    leaver = User.objects.create_user("leaver", password="leaver-pass")
    append_entries(2, actor=leaver)
    leaver.delete()
    entry = AuditEntry.objects.get(seq=1)
    assert (entry.actor_id, entry.actor_name) == (None, "leaver")
    assert audit_verify().ok
    call_command("audit_verify")


@pytest.mark.django_db
def test_a_different_key_fails_verification_at_the_first_entry(admin, settings):
    append_entries(2, actor=admin)
    settings.AUDIT_HMAC_KEY = "another-key-of-at-least-32-characters"
    assert audit_verify().broken_at == 1


@pytest.mark.django_db
def test_numbers_that_jsonb_rewrites_still_verify(admin):
    """jsonb hands 1e16 back as 10000000000000000: the MAC covers the stored form."""
    audit_append(actor=admin, action="test.x", object_type="t", object_id="1", before={"n": 1e16, "f": 0.1})
    assert audit_verify().ok


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_form_one_unbroken_chain():
    threads_count, per_thread = 8, 5

    def append(index: int) -> None:
        for round_ in range(per_thread):
            audit_append(actor=None, action="test.race", object_type="t", object_id=f"{index}-{round_}")

    race(*[partial(append, index) for index in range(threads_count)], expected=())
    seqs = list(AuditEntry.objects.values_list("seq", flat=True))
    assert seqs == list(range(1, threads_count * per_thread + 1))
    assert audit_verify().ok

"""Anchors: the beat task records the chain's head in a file, a log line and a signed webhook;
audit_verify checks the chain against every anchor and finds a deleted tail or a re-made chain."""

import hashlib
import hmac
import json
import logging
import threading
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from approvals.audit import audit_key, audit_verify, entry_mac
from approvals.audit_anchors import AnchorFileError, audit_anchor_write, audit_anchors_read
from approvals.models import AuditEntry
from console.celery import app
from core.webhooks import SIGNATURE_HEADER
from tests.approvals.audit_support import append_entries, tampering
from tests.support.races import race


@pytest.fixture
def anchor_file(settings, tmp_path) -> Path:
    settings.AUDIT_ANCHOR_FILE = str(tmp_path / "state" / "anchors.jsonl")
    settings.AUDIT_ANCHOR_WEBHOOK_URL = ""
    return Path(settings.AUDIT_ANCHOR_FILE)


@pytest.mark.django_db
def test_an_anchor_goes_to_the_file_the_log_line_and_the_signed_webhook(
    admin, anchor_file, settings, webhook_receiver, caplog
):
    url, received = webhook_receiver
    settings.AUDIT_ANCHOR_WEBHOOK_URL = url
    settings.AUDIT_ANCHOR_WEBHOOK_SECRET = "anchor-s3cret"
    caplog.set_level(logging.INFO, logger="approvals.audit_anchors")
    entries = append_entries(3, actor=admin)

    result = audit_anchor_write()

    expected = {"entries": 3, "last_seq": 3, "last_mac": entries[-1].mac}
    line = json.loads(anchor_file.read_text())
    assert line.items() >= expected.items()
    assert result["webhook"] == 204
    headers, body = received[0]
    assert (
        headers[SIGNATURE_HEADER] == "sha256=" + hmac.new(b"anchor-s3cret", body, hashlib.sha256).hexdigest()
    )
    assert json.loads(body) == {"event": "audit.anchor", "anchor": line}
    [record] = [r for r in caplog.records if r.getMessage().startswith("audit anchor ")]
    assert json.loads(record.getMessage().removeprefix("audit anchor ")) == line


def test_beat_runs_the_anchor_task(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["approvals-audit-anchor"]
    # The worker finds the apps' tasks modules as it starts (autodiscover_tasks is lazy); this
    # test alone has imported none of them, so it starts the same way rather than rely on
    # another test's imports.
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks


@pytest.mark.django_db
def test_anchors_append_one_line_each(admin, anchor_file):
    append_entries(1, actor=admin)
    audit_anchor_write()
    append_entries(1, actor=admin)
    audit_anchor_write()
    assert [anchor.last_seq for anchor in audit_anchors_read(anchor_file)] == [1, 2]


@pytest.mark.django_db
def test_deleting_the_last_three_entries_is_found_against_an_anchor(admin, anchor_file):
    append_entries(5, actor=admin)
    audit_anchor_write()
    with tampering():
        AuditEntry.objects.filter(seq__gte=3).delete()

    assert audit_verify().ok  # without an anchor, a shorter chain is a valid chain
    report = audit_verify(anchors=audit_anchors_read(anchor_file))
    assert report.broken_at == 3
    assert "recorded 5 entries; the chain has 2" in report.findings[0].reason
    with pytest.raises(CommandError, match="entry 3"):
        call_command("audit_verify")
    with pytest.raises(CommandError, match="entry 3"):
        call_command("audit_verify", "--anchor-file", str(anchor_file))


@pytest.mark.django_db
def test_a_chain_remade_with_the_key_is_found_by_the_anchored_mac(admin, anchor_file):
    """Someone holding the key re-makes the chain from entry 2: it verifies, but not against the anchor."""
    append_entries(4, actor=admin)
    audit_anchor_write()
    with tampering():
        prev_mac = AuditEntry.objects.get(seq=1).mac
        for entry in AuditEntry.objects.filter(seq__gte=2).order_by("seq"):
            entry.after = {"i": "rewritten"} if entry.seq == 2 else entry.after
            entry.prev_mac = prev_mac
            entry.mac = entry_mac(key=audit_key(), prev_mac=prev_mac, entry=entry)
            entry.save()
            prev_mac = entry.mac

    assert audit_verify().ok
    report = audit_verify(anchors=audit_anchors_read(anchor_file))
    assert report.broken_at == 4
    assert "rewritten" in report.findings[0].reason


@pytest.mark.django_db
def test_an_intact_chain_verifies_against_all_its_anchors(admin, anchor_file, capsys):
    audit_anchor_write()  # of the empty chain
    append_entries(2, actor=admin)
    audit_anchor_write()
    append_entries(1, actor=admin)
    call_command("audit_verify")
    assert "audit chain intact: 3 entries, 2 anchors" in capsys.readouterr().out


@pytest.mark.django_db
def test_verify_without_anchors_says_a_deleted_tail_would_go_unnoticed(admin, anchor_file, capsys):
    append_entries(1, actor=admin)
    call_command("audit_verify")
    assert "no anchors" in capsys.readouterr().err


@pytest.mark.django_db
def test_a_named_anchor_file_that_is_missing_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="no anchor file"):
        call_command("audit_verify", "--anchor-file", str(tmp_path / "nowhere.jsonl"))


@pytest.mark.parametrize(
    "line",
    [
        b"not json",
        b'{"at": "x", "entries": 1}',
        b'{"at": "x", "entries": "many", "last_seq": 1, "last_mac": "00"}',
        b'{"at": "x", "entries": 1, "last_seq": -1, "last_mac": "00"}',
        b"[1, 2]",
        b'{"at": "' + b"x" * 10_000 + b'"}',
    ],
)
def test_a_line_that_is_not_an_anchor_is_reported_not_crashed_on(tmp_path, line):
    path = tmp_path / "anchors.jsonl"
    path.write_bytes(line + b"\n")
    with pytest.raises(AnchorFileError, match=r"anchors\.jsonl:1"):
        audit_anchors_read(path)


@pytest.mark.django_db
def test_the_command_reports_a_bad_anchor_file_as_an_error(tmp_path):
    path = tmp_path / "anchors.jsonl"
    path.write_bytes(b"garbage\n")
    with pytest.raises(CommandError, match="not an anchor"):
        call_command("audit_verify", "--anchor-file", str(path))


@pytest.mark.django_db(transaction=True)
def test_anchors_written_while_threads_append_all_match_the_chain(anchor_file):
    """The head is read under the append lock: no anchor pairs a count with another moment's MAC."""
    stop = threading.Event()
    appending = [4]
    lock = threading.Lock()

    def append() -> None:
        try:
            append_entries(6)
        finally:
            with lock:
                appending[0] -= 1
                if not appending[0]:
                    stop.set()  # the last appender done: the anchoring loop ends

    def anchor() -> None:
        while not stop.is_set():
            audit_anchor_write()

    race(anchor, *[append] * 4, expected=())

    anchors = audit_anchors_read(anchor_file)
    assert anchors
    assert all(anchor.entries == anchor.last_seq for anchor in anchors)
    report = audit_verify(anchors=anchors)
    assert report.ok, report.findings
    assert report.entries == 24

"""The beat task's anchor, run by a real worker: the file, the JSON log line and the signed webhook."""

import hashlib
import hmac
import json
import time

import pytest

from approvals.tasks import audit_anchor
from tests.approvals.audit_support import append_entries
from tests.support.processes import running_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_worker_running_the_anchor_task_writes_the_file_logs_and_posts(admin, tmp_path, webhook_receiver):
    url, received = webhook_receiver
    anchor_file = tmp_path / "anchors.jsonl"
    entries = append_entries(2, actor=admin)
    env = {
        "AUDIT_ANCHOR_FILE": str(anchor_file),
        "AUDIT_ANCHOR_WEBHOOK_URL": url,
        "AUDIT_ANCHOR_WEBHOOK_SECRET": "anchor-s3cret",
        "LOG_FORMAT": "json",
    }
    with running_worker(tmp_path, **env) as worker:
        audit_anchor.delay()
        deadline = time.monotonic() + 20
        while not received:
            assert time.monotonic() < deadline, worker.output()
            time.sleep(0.1)

    line = json.loads(anchor_file.read_text())
    assert (line["entries"], line["last_seq"], line["last_mac"]) == (2, 2, entries[-1].mac)
    headers, body = received[0]
    assert headers["X-Tollgate-Signature"] == (
        "sha256=" + hmac.new(b"anchor-s3cret", body, hashlib.sha256).hexdigest()
    )
    assert json.loads(body)["anchor"] == line
    logged = [json.loads(text) for text in worker.output().splitlines() if '"audit anchor ' in text]
    assert logged[0]["logger"] == "approvals.audit_anchors"
    assert json.loads(logged[0]["message"].removeprefix("audit anchor ")) == line

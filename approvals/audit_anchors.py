"""Anchors: the audit chain's head written outside its table, so a deleted tail is noticed.

A beat task appends the head (entry count, last entry, its MAC, the time) as a JSON line to
AUDIT_ANCHOR_FILE, logs it, and POSTs it to AUDIT_ANCHOR_WEBHOOK_URL; `audit_verify` checks
the chain against every line of the file.
"""

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction

from approvals.audit import GENESIS_MAC, Anchor, audit_lock
from approvals.models import AuditEntry
from core import clock
from core.webhooks import webhook_post

logger = logging.getLogger(__name__)
# An anchor line is ~150 bytes; anything far longer is not one.
_MAX_LINE_BYTES = 4096


class AnchorFileError(Exception):
    """The anchor file cannot be read, or a line in it is not an anchor."""


def audit_head() -> Anchor:
    """The chain's head now: read under the append lock, so count and last entry agree."""
    with transaction.atomic():
        audit_lock()
        entries = AuditEntry.objects.count()
        last = AuditEntry.objects.order_by("-seq").values("seq", "mac").first()
    return Anchor(
        at=clock.now().isoformat(),
        entries=entries,
        last_seq=last["seq"] if last else 0,
        last_mac=last["mac"] if last else GENESIS_MAC,
    )


def audit_anchor_write() -> dict[str, Any]:
    """Record the head in the file, the log and the webhook; each is independent of the others."""
    anchor = audit_head()
    line = json.dumps(dataclasses.asdict(anchor), sort_keys=True)
    path = Path(settings.AUDIT_ANCHOR_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND: one small write lands whole at the end even if another process appends too.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, (line + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    logger.info("audit anchor %s", line)
    return {"anchor": dataclasses.asdict(anchor), "webhook": _anchor_post(anchor)}


def _anchor_post(anchor: Anchor) -> int | str | None:
    url = settings.AUDIT_ANCHOR_WEBHOOK_URL
    if not url:
        return None
    event = {"event": "audit.anchor", "anchor": dataclasses.asdict(anchor)}
    try:
        return webhook_post(url=url, secret=settings.AUDIT_ANCHOR_WEBHOOK_SECRET, event=event)
    except httpx.HTTPError as exc:
        logger.warning("audit anchor webhook failed: %s", exc)
        return str(exc)


def audit_anchors_read(path: Path) -> list[Anchor]:
    """Every anchor in the file, in order; a missing file has none."""
    if not path.exists():
        return []
    anchors = []
    try:
        with path.open("rb") as lines:
            for number, raw in enumerate(lines, start=1):
                if raw.strip():
                    anchors.append(_anchor_parse(raw, where=f"{path}:{number}"))
    except OSError as exc:
        raise AnchorFileError(f"cannot read {path}: {exc}") from exc
    return anchors


def _anchor_parse(raw: bytes, *, where: str) -> Anchor:
    if len(raw) > _MAX_LINE_BYTES:
        raise AnchorFileError(f"{where}: not an anchor (line of {len(raw)} bytes)")
    try:
        fields = json.loads(raw)
        anchor = Anchor(
            at=str(fields["at"]),
            entries=int(fields["entries"]),
            last_seq=int(fields["last_seq"]),
            last_mac=str(fields["last_mac"]),
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise AnchorFileError(f"{where}: not an anchor ({exc})") from exc
    if anchor.last_seq < 0 or anchor.entries < 0:
        raise AnchorFileError(f"{where}: not an anchor (negative count)")
    return anchor

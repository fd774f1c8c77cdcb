"""The append-only audit log, chained by HMAC-SHA256: who did what, when, before and after.

Each entry's MAC covers the previous entry's MAC and the entry's content, keyed with
AUDIT_HMAC_KEY, which is not in the database: someone who can write the table but does not hold
the key cannot rewrite an entry and recompute the MACs after it. Deleting the tail leaves a
valid shorter chain; anchors written outside the table (approvals.audit_anchors) catch that.
"""

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction

from approvals.models import AuditEntry
from core import clock

GENESIS_MAC = "0" * 64
# Any constant works; it names the one advisory lock that orders appends to the chain.
_AUDIT_LOCK_KEY = 7_301_303
# Keeps the key derived from SECRET_KEY apart from every other use of SECRET_KEY.
_DERIVED_KEY_LABEL = b"tollgate.approvals.audit-chain.v1"


class ChainedEntry(Protocol):
    """What the MAC covers; also met by the historical model in migrations."""

    seq: int
    at: datetime
    actor_name: str
    action: str
    object_type: str
    object_id: str
    before: Any
    after: Any


def audit_key() -> bytes:
    if settings.AUDIT_HMAC_KEY:
        return settings.AUDIT_HMAC_KEY.encode()
    return hmac.new(settings.SECRET_KEY.encode(), _DERIVED_KEY_LABEL, hashlib.sha256).digest()


def entry_mac(*, key: bytes, prev_mac: str, entry: ChainedEntry) -> str:
    """HMAC-SHA256 over the previous MAC and the entry's canonical content.

    The actor is covered by name, not by its id: the id becomes NULL when the user is deleted.
    """
    content = {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_name": entry.actor_name,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "before": entry.before,
        "after": entry.after,
    }
    body = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(key, f"{prev_mac}\n{body}".encode(), hashlib.sha256).hexdigest()


def audit_lock() -> None:
    """Take the chain's lock until the current transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_LOCK_KEY])


def audit_append(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    object_type: str,
    object_id: str,
    before: Any = None,
    after: Any = None,
) -> AuditEntry:
    """Append one entry, chained to the last. Call it inside the transaction that made the change.

    Two writers appending at once would both read the same last MAC and fork the chain: a
    transaction-scoped advisory lock makes appends take turns (held until commit).
    """
    with transaction.atomic():
        audit_lock()
        last = AuditEntry.objects.order_by("-seq").values("seq", "mac").first()
        user = actor if actor is not None and actor.is_authenticated else None
        before, after = _as_stored(before, after)
        entry = AuditEntry(
            seq=(last["seq"] + 1) if last else 1,
            at=clock.now(),
            actor_id=user.pk if user is not None else None,
            actor_name=user.get_username() if user is not None else "system",
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            before=before,
            after=after,
            prev_mac=last["mac"] if last else GENESIS_MAC,
        )
        entry.mac = entry_mac(key=audit_key(), prev_mac=entry.prev_mac, entry=entry)
        entry.save(force_insert=True)
    return entry


def _as_stored(before: Any, after: Any) -> tuple[Any, Any]:
    """The values as jsonb will hand them back, so what is MACed is what is read when verifying.

    jsonb rewrites numbers (1e16 comes back as 10000000000000000), so a round trip through
    Python's json alone is not enough.
    """
    texts = [None if value is None else json.dumps(value, default=str) for value in (before, after)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb::text, %s::jsonb::text", texts)
        stored_before, stored_after = cursor.fetchone()
    return _loads(stored_before), _loads(stored_after)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@dataclass(frozen=True)
class Anchor:
    """The chain's head as recorded outside the table at one moment."""

    at: str
    entries: int
    last_seq: int
    last_mac: str


@dataclass(frozen=True)
class Finding:
    seq: int  # the first entry found bad
    reason: str


@dataclass(frozen=True)
class ChainReport:
    entries: int
    anchors: int
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def broken_at(self) -> int | None:
        return min((finding.seq for finding in self.findings), default=None)


def audit_verify(*, anchors: Iterable[Anchor] = ()) -> ChainReport:
    """Recompute the chain with the key and check it against every anchor.

    Reports the first entry whose MAC or link does not match, a gap in the sequence, and for
    the anchors: a chain shorter than one recorded (its tail deleted), or an anchored MAC not
    at its position (rewritten by someone holding the key, or the chain re-made).
    """
    anchors = list(anchors)
    anchored = {anchor.last_seq for anchor in anchors}
    macs_at: dict[int, str] = {}
    findings: list[Finding] = []
    key = audit_key()
    prev_mac, expected_seq, intact = GENESIS_MAC, 1, 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        if entry.seq != expected_seq:
            findings.append(Finding(expected_seq, f"entry {expected_seq} is missing"))
            break
        if entry.prev_mac != prev_mac:
            findings.append(Finding(entry.seq, "its link to the previous entry does not match"))
            break
        if entry_mac(key=key, prev_mac=prev_mac, entry=entry) != entry.mac:
            findings.append(Finding(entry.seq, "its content does not match its MAC"))
            break
        if entry.seq in anchored:
            macs_at[entry.seq] = entry.mac
        prev_mac, expected_seq, intact = entry.mac, expected_seq + 1, entry.seq
    findings.extend(_anchor_findings(anchors, intact=intact, macs_at=macs_at, broken=bool(findings)))
    return ChainReport(entries=intact, anchors=len(anchors), findings=tuple(findings))


def _anchor_findings(
    anchors: list[Anchor], *, intact: int, macs_at: dict[int, str], broken: bool
) -> list[Finding]:
    # One finding per kind, for the anchor that shows it earliest in the chain.
    findings = []
    longer = [anchor for anchor in anchors if anchor.last_seq > intact]
    if longer and not broken:
        anchor = max(longer, key=lambda a: a.last_seq)
        findings.append(
            Finding(
                intact + 1,
                f"the anchor of {anchor.at} recorded {anchor.last_seq} entries; the chain has {intact}",
            )
        )
    moved = [
        a for a in anchors if a.last_seq <= intact and macs_at.get(a.last_seq, GENESIS_MAC) != a.last_mac
    ]
    if moved:
        anchor = min(moved, key=lambda a: a.last_seq)
        findings.append(
            Finding(
                max(anchor.last_seq, 1),
                f"the MAC anchored at {anchor.at} is not at entry {anchor.last_seq}: "
                f"entries up to {anchor.last_seq} were rewritten",
            )
        )
    return findings

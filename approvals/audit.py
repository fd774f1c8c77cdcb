"""The append-only audit log with a hash chain: who did what, when, before and after."""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction

from approvals.models import AuditEntry
from core import clock

GENESIS_HASH = "0" * 64
# Any constant works; it names the one advisory lock that orders appends to the chain.
_AUDIT_LOCK_KEY = 7_301_303


def _entry_hash(*, prev_hash: str, fields: dict[str, Any]) -> str:
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def _hashed_fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "before": entry.before,
        "after": entry.after,
    }


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

    Two writers appending at once would both read the same last hash and fork the chain: a
    transaction-scoped advisory lock makes appends take turns (held until commit).
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_LOCK_KEY])
        last = AuditEntry.objects.order_by("-seq").values("seq", "hash").first()
        user = actor if actor is not None and actor.is_authenticated else None
        entry = AuditEntry(
            seq=(last["seq"] + 1) if last else 1,
            at=clock.now(),
            actor_id=user.pk if user is not None else None,
            actor_name=user.get_username() if user is not None else "system",
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            before=_jsonable(before),
            after=_jsonable(after),
            prev_hash=last["hash"] if last else GENESIS_HASH,
        )
        entry.hash = _entry_hash(prev_hash=entry.prev_hash, fields=_hashed_fields(entry))
        entry.save(force_insert=True)
    return entry


def _jsonable(value: Any) -> Any:
    # What is hashed must be what is stored: round-trip through JSON as jsonb will.
    return None if value is None else json.loads(json.dumps(value, default=str))


@dataclass(frozen=True)
class ChainReport:
    entries: int
    broken_at: int | None  # the seq of the first entry that does not verify
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def audit_verify() -> ChainReport:
    """Walk the chain in order; report the first entry whose hash or link does not match."""
    prev_hash = GENESIS_HASH
    expected_seq = 1
    count = 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        count += 1
        if entry.seq != expected_seq:
            return ChainReport(count, entry.seq, f"entry {expected_seq} is missing")
        if entry.prev_hash != prev_hash:
            return ChainReport(count, entry.seq, "its link to the previous entry does not match")
        if _entry_hash(prev_hash=prev_hash, fields=_hashed_fields(entry)) != entry.hash:
            return ChainReport(count, entry.seq, "its content does not match its hash")
        prev_hash = entry.hash
        expected_seq += 1
    return ChainReport(count, None)

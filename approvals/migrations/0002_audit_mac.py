"""The audit chain moves from SHA-256 to HMAC-SHA256 keyed with AUDIT_HMAC_KEY (approvals.audit).

Existing entries are re-chained under the new scheme with the key this migration runs with (the
processes that write and verify must then use the same key). The old chain is checked first and
the result recorded in a last entry, `audit.rechained`, so what the old chain said is not lost.
"""

import hashlib
import json

from django.db import migrations, models

from approvals.audit import GENESIS_MAC, audit_key, entry_mac
from core import clock


def _legacy_hash(prev_hash, entry):
    # The old scheme, kept here only to check the old chain and to migrate backwards.
    fields = {
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
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def rechain(apps, schema_editor):
    AuditEntry = apps.get_model("approvals", "AuditEntry")
    key = audit_key()
    legacy_prev, new_prev, count, last_seq = GENESIS_MAC, GENESIS_MAC, 0, 0
    first_break, unverifiable = "", 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        legacy = entry.mac
        if not first_break and entry.seq != last_seq + 1:
            first_break = f"entry {last_seq + 1} is missing"
        elif not first_break and entry.prev_mac != legacy_prev:
            first_break = f"entry {entry.seq}: its link to the previous entry does not match"
        elif not first_break and _legacy_hash(legacy_prev, entry) != legacy:
            if entry.actor_id is None and entry.actor_name != "system":
                unverifiable += 1  # its user was deleted: the old hash covered the user's id
            else:
                first_break = f"entry {entry.seq}: its content does not match its hash"
        entry.prev_mac = new_prev
        entry.mac = entry_mac(key=key, prev_mac=new_prev, entry=entry)
        entry.save(update_fields=["prev_mac", "mac"])
        legacy_prev, new_prev, count, last_seq = legacy, entry.mac, count + 1, entry.seq
    if not count:
        return
    note = AuditEntry(
        seq=last_seq + 1,
        at=clock.now(),
        actor_name="system",
        action="audit.rechained",
        object_type="audit_chain",
        object_id="hmac-sha256",
        before={
            "scheme": "sha256",
            "entries": count,
            "head": legacy_prev,
            "broken": first_break,
            "unverifiable_deleted_users": unverifiable,
        },
        after={"scheme": "hmac-sha256", "entries": count, "head": new_prev},
        prev_mac=new_prev,
    )
    note.mac = entry_mac(key=key, prev_mac=new_prev, entry=note)
    note.save(force_insert=True)


def rechain_legacy(apps, schema_editor):
    AuditEntry = apps.get_model("approvals", "AuditEntry")
    prev = GENESIS_MAC
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        entry.prev_mac = prev
        entry.mac = _legacy_hash(prev, entry)
        entry.save(update_fields=["prev_mac", "mac"])
        prev = entry.mac


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(model_name="auditentry", old_name="prev_hash", new_name="prev_mac"),
        migrations.RenameField(model_name="auditentry", old_name="hash", new_name="mac"),
        migrations.AlterField(
            model_name="auditentry",
            name="actor_name",
            field=models.CharField(
                help_text="the username at the time, MACed and kept if the user is deleted; 'system' for clocks",
                max_length=150,
            ),
        ),
        migrations.RunPython(rechain, rechain_legacy),
    ]

"""A trigger that refuses UPDATE and DELETE on the audit table, for every role including the
owner, until the owner or a superuser disables or drops it (ALTER TABLE ... DISABLE TRIGGER).

The one update let through is the NULLing of `actor_id` alone, which deleting a user does
(on_delete=SET_NULL); the MAC covers the actor's name, so it stays valid. TRUNCATE is not
guarded here (Django's test flush truncates every table); revoke it from the app's role instead
(docs/approvals.md).
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION approvals_auditentry_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.actor_id IS NULL
       AND to_jsonb(NEW) - 'actor_id' = to_jsonb(OLD) - 'actor_id' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'approvals_auditentry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER approvals_auditentry_append_only
    BEFORE UPDATE OR DELETE ON approvals_auditentry
    FOR EACH ROW EXECUTE FUNCTION approvals_auditentry_append_only();
"""

DROP = """
DROP TRIGGER approvals_auditentry_append_only ON approvals_auditentry;
DROP FUNCTION approvals_auditentry_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0002_audit_mac"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]

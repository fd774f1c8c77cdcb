"""The role of docs/approvals.md appends to the audit table and NULLs actors, and can do nothing else."""

import pytest
from django.db import DatabaseError, connection, transaction

from approvals.models import AuditEntry
from tests.approvals.audit_support import append_entries, tampering

pytestmark = pytest.mark.django_db

# The audit table's lines of the documented role (the rest grants the other tables).
ROLE_SQL = """
CREATE ROLE tollgate_app_test NOLOGIN;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO tollgate_app_test;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO tollgate_app_test;
REVOKE UPDATE, DELETE, TRUNCATE ON approvals_auditentry FROM tollgate_app_test;
GRANT UPDATE (actor_id) ON approvals_auditentry TO tollgate_app_test;
"""


def _sql(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE approvals_auditentry SET after = '{}'::jsonb",
        "DELETE FROM approvals_auditentry",
        "TRUNCATE approvals_auditentry",
    ],
)
def test_the_app_role_cannot_rewrite_even_without_the_trigger(admin, statement):
    append_entries(1, actor=admin)
    _sql(ROLE_SQL)
    with tampering():  # the owner switched the trigger off; the role's rights still refuse
        _sql("SET ROLE tollgate_app_test")
        try:
            with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
                _sql(statement)
        finally:
            _sql("RESET ROLE")
    assert AuditEntry.objects.get().after == {"i": 0}


def test_the_app_role_appends_and_nulls_a_deleted_users_actor(admin):
    _sql(ROLE_SQL)
    _sql("SET ROLE tollgate_app_test")
    try:
        append_entries(2, actor=admin)
        admin.delete()
    finally:
        _sql("RESET ROLE")
    assert list(AuditEntry.objects.values_list("actor_id", "actor_name")) == [(None, "admin")] * 2

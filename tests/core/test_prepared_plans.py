"""Prepared statements (core/raw_rows.py prepared_cursor) run on generic plans: planned once per
connection, not on every call."""

import pytest
from django.db import connection

from core.raw_rows import prepared_cursor

pytestmark = pytest.mark.django_db


def test_a_connection_plans_prepared_statements_once():
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone() == ("force_generic_plan",)


def test_a_prepared_statement_is_planned_once_however_often_it_runs():
    with prepared_cursor() as cursor:
        for n in range(7):  # past the 5 custom plans PostgreSQL otherwise tries first
            cursor.execute("SELECT %s::int + 1 FROM pg_class WHERE oid = %s::oid", [n, 1259])
            assert cursor.fetchone() == (n + 1,)
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE 'SELECT $1::int + 1 FROM pg_class%%'"
        )
        assert cursor.fetchone() == (7, 0)

"""What PostgreSQL would do with a query a page ran, whatever the (small) tables hold."""

from django.db import connection


def plan_without_sorting(sql: str) -> str:
    """The plan of `sql` with sorts and sequential scans priced out, as on a table too big for
    them: a Sort left in the plan means no index yields the query's order. Call it last in a
    test: the settings hold until the test's transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())

"""The live rules, held in this process per policy version.

Every change of the policy goes through approvals.policy.services, which writes the rules and a
new PolicyVersion row in one transaction. Reading the newest version row (the unique index on
`number`) before every call is the cheap marker: rules are read again only when it changed, so a
saved change applies to the next call in every process.
"""

from approvals.models import PolicyRule, PolicyVersion
from core.raw_rows import prepared_cursor, row_table

# The newest version's (id, number), (0, 0) before the first version. The id as well as the
# number: an id is never reused, even after a rolled-back transaction (a test's) created a
# version with the same number.
PolicyMarker = tuple[int, int]

# (marker, version number, rules). A tuple assigned at once, so threads need no lock: two that
# miss together both read the rules, and either result is right.
_cached: tuple[PolicyMarker, int, tuple[PolicyRule, ...]] | None = None

# The marker's columns (id, number), or none before the first version; a subquery of the gate
# API's one read per call (approvals.gate.call_reads).
POLICY_MARKER_SQL = f"SELECT id, number FROM {row_table(PolicyVersion)} ORDER BY number DESC LIMIT 1"  # noqa: S608


def policy_marker_of(row: tuple[int | None, int | None] | None) -> PolicyMarker:
    """The marker of a row POLICY_MARKER_SQL gave, or of none."""
    if row is None or row[0] is None or row[1] is None:
        return (0, 0)
    return (row[0], row[1])


def _marker() -> PolicyMarker:
    # Hand-written: it runs on every call, and the ORM took ~0.8 ms of CPU to compile what
    # PostgreSQL answers in ~0.2 (bench/gate_cpu.py).
    with prepared_cursor() as cursor:
        cursor.execute(POLICY_MARKER_SQL)
        row = cursor.fetchone()
    return policy_marker_of(row)


def policy_rules_current(marker: PolicyMarker | None = None) -> tuple[int, tuple[PolicyRule, ...]]:
    """(policy version, rules in match order); the same objects until the policy changes.
    `marker`: the marker as the caller just read it (with its other reads), else read here."""
    global _cached
    if marker is None:
        marker = _marker()
    cached = _cached
    if cached is not None and cached[0] == marker:
        return cached[1], cached[2]
    while True:
        rules = tuple(PolicyRule.objects.order_by("-priority", "id"))
        # Race: a change committed between the two reads would leave newer rules under the older
        # version; reading the marker again catches it.
        latest = _marker()
        if latest == marker:
            break
        marker = latest
    number = marker[1]
    _cached = (marker, number, rules)
    return number, rules

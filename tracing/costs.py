"""Reads behind the cost pages: spend over time, its distribution over sessions, top spenders.

Spend over time is summed from the model spans' `tollgate.cost_usd` (the exact Decimal each call
cost), through their hourly roll-up, so the pages agree with the traces to the last digit; spend
per session from its tasks.
Every sum, count and ranking is done by PostgreSQL: a fixed number of queries each, and no row
per session or span reaches Python.
"""

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import F, QuerySet, Sum
from django.db.models.functions import Coalesce

from agents.models import Task

# What each grouping reads, in the query below (_SPEND_SQL): the session a model call belongs to
# (its span's `gen_ai.conversation.id`) gives its agent and user.
GROUPS = {
    "agent": "agent.name",
    "user": "owner.username",
    "model": "spend.model",
}
# Cost per session, in USD: the distribution's bucket edges (a tenfold step each).
SESSION_BUCKETS = [Decimal("0.001"), Decimal("0.01"), Decimal("0.1"), Decimal("1"), Decimal("10")]
TOP = 10


@dataclass(frozen=True)
class Series:
    buckets: list[datetime]
    lines: dict[str, list[Decimal]]  # group → spend per bucket
    totals: dict[str, Decimal]  # group → spend in the range, largest first


# The range's spend per (bucket, model, session): between its first and its last whole hour
# from the hourly roll-up (tracing_spendhour, kept by triggers in the spans' own transactions:
# tracing/migrations/0006_spend_hour.py), in the partial hours at its two ends from the model
# spans themselves, over the span_kind_time index. Only those rows then meet the session, its
# agent and its owner, as over the spans before: the same sums, a row a session-hour read
# instead of every call's JSON (bench/README.md, history_bench). `calls > 0`: a roll-up row
# whose spans were all deleted makes no group, as the spans would not. `calls` is materialized
# so that the grouping reads four narrow columns, not whole span rows.
_SPEND_SQL = """
WITH calls AS MATERIALIZED (
    SELECT date_trunc(%(unit)s, started_at, 'UTC') AS bucket,
           attributes ->> 'gen_ai.request.model' AS model,
           attributes ->> 'gen_ai.conversation.id' AS conversation,
           (attributes ->> 'tollgate.cost_usd')::numeric AS cost
    FROM tracing_span
    WHERE kind = 'model' AND attributes ? 'tollgate.cost_usd'
      AND (started_at >= %(since)s AND started_at < %(first_hour)s
           OR started_at >= %(last_hour)s AND started_at < %(until)s)
    UNION ALL
    SELECT date_trunc(%(unit)s, hour, 'UTC'), model, conversation, spend
    FROM tracing_spendhour
    WHERE hour >= %(first_hour)s AND hour < %(last_hour)s AND calls > 0
), spend AS (
    SELECT bucket, model, conversation, sum(cost) AS spend FROM calls GROUP BY 1, 2, 3
)
SELECT spend.bucket, {group}, sum(spend.spend)
FROM spend
LEFT JOIN agents_session session ON session.id = (
    CASE WHEN spend.conversation ~ '^[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}$'
    THEN spend.conversation::uuid END
)
LEFT JOIN agents_agent agent ON agent.id = session.agent_id
LEFT JOIN auth_user owner ON owner.id = session.owner_id
GROUP BY 1, 2
"""
_HOUR = timedelta(hours=1)


def _whole_hours(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """The first and the last UTC hour boundary in [since, until] (the roll-up's part of the
    range is between them); both `until` when no whole hour lies in the range."""
    first = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if first < since:
        first += _HOUR
    last = until.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if first > last:
        return until, until
    return first, last


def cost_series(*, since: datetime, until: datetime, by: str, hourly: bool) -> Series:
    first_hour, last_hour = _whole_hours(since, until)
    params = {
        "unit": "hour" if hourly else "day",
        "since": since,
        "until": until,
        "first_hour": first_hour,
        "last_hour": last_hour,
    }
    with connection.cursor() as cursor:
        cursor.execute(_SPEND_SQL.format(group=GROUPS[by]), params)
        rows = cursor.fetchall()
    step = _HOUR if hourly else timedelta(days=1)
    start = since.replace(minute=0, second=0, microsecond=0)
    if not hourly:
        start = start.replace(hour=0)
    buckets = []
    while start < until:
        buckets.append(start)
        start += step
    index = {bucket: n for n, bucket in enumerate(buckets)}
    lines: dict[str, list[Decimal]] = {}
    for bucket, group, spend in rows:
        line = lines.setdefault(str(group or "—"), [Decimal(0)] * len(buckets))
        if bucket in index:
            line[index[bucket]] += spend
    sums = ((group, sum(line, Decimal(0))) for group, line in lines.items())
    totals = dict(sorted(sums, key=lambda item: -item[1]))
    return Series(buckets=buckets, lines={group: lines[group] for group in totals}, totals=totals)


@dataclass(frozen=True)
class SessionSpend:
    session_id: str
    agent: str
    owner: str
    cost: Decimal


def _spend_per_session(*, since: datetime, until: datetime, **columns: F) -> QuerySet[Any, Any]:
    """One row per session: `session_id`, `columns` and `cost`, its tasks created in the range."""
    return (
        Task.objects.filter(created_at__gte=since, created_at__lte=until)
        .values("session_id", **columns)
        .annotate(cost=Coalesce(Sum("cost_usd"), Decimal(0)))
    )


def session_costs(*, since: datetime, until: datetime, limit: int = TOP) -> list[SessionSpend]:
    """The `limit` sessions that spent most on tasks created in the range, largest first."""
    rows = _spend_per_session(
        since=since,
        until=until,
        agent_name=F("session__agent__name"),
        owner_name=F("session__owner__username"),
    ).order_by("-cost", "session_id")[:limit]
    return [SessionSpend(str(r["session_id"]), r["agent_name"], r["owner_name"], r["cost"]) for r in rows]


# width_bucket(cost, edges) is the number of edges at or below the cost: the band's index.
_DISTRIBUTION_SQL = """
SELECT width_bucket(spend.cost, %s::numeric[]), count(*) FROM ({sessions}) AS spend GROUP BY 1
"""


def session_distribution(*, since: datetime, until: datetime) -> list[tuple[str, int]]:
    """How many sessions (their tasks created in the range) fall in each tenfold cost band."""
    labels = [f"< ${SESSION_BUCKETS[0]}"]
    labels += [f"${low} to ${high}" for low, high in itertools.pairwise(SESSION_BUCKETS)]
    labels.append(f"≥ ${SESSION_BUCKETS[-1]}")
    counts = [0] * len(labels)
    sessions, params = _spend_per_session(since=since, until=until).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_DISTRIBUTION_SQL.format(sessions=sessions), [SESSION_BUCKETS, *params])
        for band, count in cursor.fetchall():
            counts[band] = count
    return list(zip(labels, counts, strict=True))

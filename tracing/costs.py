"""Reads behind the cost pages: spend over time, its distribution over sessions, top spenders.

Every amount is summed from the model spans' `tollgate.cost_usd` (the exact Decimal each call
cost), so the pages agree with the traces to the last digit. A fixed number of queries each.
"""

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import DecimalField, F, QuerySet, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, TruncDay, TruncHour

from agents.models import Task
from tracing.models import Span
from tracing.recorder import COST_ATTRIBUTE

GROUPS = {
    "agent": "trace__task__session__agent__name",
    "user": "trace__task__owner__username",
    "model": "model_name",
}
# Cost per session, in USD: the distribution's bucket edges (a tenfold step each).
SESSION_BUCKETS = [Decimal("0.001"), Decimal("0.01"), Decimal("0.1"), Decimal("1"), Decimal("10")]
TOP = 10
_MONEY = DecimalField(max_digits=24, decimal_places=12)


@dataclass(frozen=True)
class Series:
    buckets: list[datetime]
    lines: dict[str, list[Decimal]]  # group → spend per bucket
    totals: dict[str, Decimal]  # group → spend in the range, largest first


def _model_spend(since: datetime, until: datetime) -> QuerySet[Span]:
    return (
        Span.objects.filter(kind=Span.Kind.MODEL, started_at__gte=since, started_at__lt=until)
        .exclude(**{f"attributes__{COST_ATTRIBUTE}__isnull": True})
        .annotate(
            cost=Cast(KT(f"attributes__{COST_ATTRIBUTE}"), _MONEY),
            model_name=KT("attributes__gen_ai.request.model"),
        )
    )


def cost_series(*, since: datetime, until: datetime, by: str, hourly: bool) -> Series:
    trunc = TruncHour("started_at") if hourly else TruncDay("started_at")
    rows = (
        _model_spend(since, until)
        .annotate(bucket=trunc, group=F(GROUPS[by]))
        .values("bucket", "group")
        .annotate(spend=Sum("cost"))
        .order_by("bucket")
    )
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    start = since.replace(minute=0, second=0, microsecond=0)
    if not hourly:
        start = start.replace(hour=0)
    buckets = []
    while start < until:
        buckets.append(start)
        start += step
    index = {bucket: n for n, bucket in enumerate(buckets)}
    lines: dict[str, list[Decimal]] = {}
    for row in rows:
        line = lines.setdefault(str(row["group"] or "—"), [Decimal(0)] * len(buckets))
        if row["bucket"] in index:
            line[index[row["bucket"]]] += row["spend"]
    sums = ((group, sum(line, Decimal(0))) for group, line in lines.items())
    totals = dict(sorted(sums, key=lambda item: -item[1]))
    return Series(buckets=buckets, lines={group: lines[group] for group in totals}, totals=totals)


@dataclass(frozen=True)
class SessionSpend:
    session_id: str
    agent: str
    owner: str
    cost: Decimal


def session_costs(*, since: datetime, until: datetime) -> list[SessionSpend]:
    """Each session's spend on tasks created in the range, largest first."""
    rows = (
        Task.objects.filter(created_at__gte=since, created_at__lte=until)
        .values("session_id", agent_name=F("session__agent__name"), owner_name=F("session__owner__username"))
        .annotate(cost=Coalesce(Sum("cost_usd"), Decimal(0)))
        .order_by("-cost", "session_id")
    )
    return [SessionSpend(str(r["session_id"]), r["agent_name"], r["owner_name"], r["cost"]) for r in rows]


def session_distribution(costs: list[SessionSpend]) -> list[tuple[str, int]]:
    """How many sessions fall in each tenfold cost band."""
    labels = [f"< ${SESSION_BUCKETS[0]}"]
    labels += [f"${low} to ${high}" for low, high in itertools.pairwise(SESSION_BUCKETS)]
    labels.append(f"≥ ${SESSION_BUCKETS[-1]}")
    counts = [0] * len(labels)
    for spend in costs:
        counts[sum(1 for edge in SESSION_BUCKETS if spend.cost >= edge)] += 1
    return list(zip(labels, counts, strict=True))

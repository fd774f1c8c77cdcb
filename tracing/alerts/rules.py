"""What each alert rule measures, read from the database at `now`.

Each returns the rule's observations: subject → (value, breached, detail). A subject that is
absent is not breached (it resolves a firing alert). Thresholds, windows and minimum sample
sizes come from the rule row an admin edits.
"""

import statistics
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, DateTimeField, F, Q, Sum, Value
from django.db.models.functions import Coalesce, Extract

from agents.models import Step, Task
from core.aggregates import PercentileCont
from tracing.models import AlertRule, Span
from tracing.tool_health import tool_calls_made


@dataclass(frozen=True)
class Observation:
    value: Decimal
    breached: bool
    detail: str


Observations = dict[str, Observation]


def tool_error_rate(rule: AlertRule, now: datetime) -> Observations:
    since = now - timedelta(seconds=rule.window_s)
    rows = (
        tool_calls_made(Span.objects.filter(kind=Span.Kind.TOOL, started_at__gte=since, started_at__lte=now))
        .values(tool=F("attributes__gen_ai.tool.name"))
        .annotate(calls=Count("id"), errors=Count("id", filter=Q(status=Span.Status.ERROR)))
    )
    found: Observations = {}
    for row in rows:
        calls, errors = row["calls"], row["errors"]
        rate = Decimal(errors) / Decimal(calls)
        found[str(row["tool"])] = Observation(
            value=rate,
            breached=calls >= rule.min_samples and rate > rule.threshold,
            detail=f"{errors} of {calls} calls failed in the last {rule.window_s // 60} min ({rate:.1%})",
        )
    return found


def budget_burn(rule: AlertRule, now: datetime) -> Observations:
    """On pace to pass the daily budget: `threshold` of it spent by noon UTC, pro rata.

    The pace is spent / budget >= threshold * hours since midnight / 12; past the budget
    itself always breaches. The first half hour of a day is too short to judge a pace.
    """
    midnight = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    elapsed_h = Decimal((now - midnight).total_seconds()) / Decimal(3600)
    spent = Step.objects.filter(started_at__gte=midnight, started_at__lte=now).aggregate(
        cost=Coalesce(Sum("cost_usd"), Decimal(0)),
        tokens=Coalesce(Sum(F("input_tokens") + F("output_tokens")), 0),
    )
    budgets = {
        "cost": (Decimal(spent["cost"]), Decimal(settings.ALERTS_DAILY_COST_BUDGET_USD), "$"),
        "tokens": (Decimal(spent["tokens"]), Decimal(settings.ALERTS_DAILY_TOKEN_BUDGET), ""),
    }
    found: Observations = {}
    for subject, (used, budget, unit) in budgets.items():
        if budget <= 0:
            continue  # no daily budget configured for this
        fraction = used / budget
        pace = rule.threshold * elapsed_h / Decimal(12)
        breached = fraction >= 1 or (elapsed_h >= Decimal("0.5") and fraction >= pace)
        found[subject] = Observation(
            value=fraction,
            breached=breached,
            detail=f"{unit}{used} of the daily {unit}{budget} used by {now:%H:%M} UTC ({fraction:.0%})",
        )
    return found


def stuck_sessions(rule: AlertRule, now: datetime) -> Observations:
    """Task durations in the window (finished ones, and running ones so far): P99 against P50."""
    since = now - timedelta(seconds=rule.window_s)
    rows = Task.objects.filter(started_at__isnull=False).filter(
        Q(finished_at__gte=since, finished_at__lte=now) | Q(finished_at__isnull=True, started_at__lte=now)
    )
    duration = Extract(
        Coalesce("finished_at", Value(now, output_field=DateTimeField())) - F("started_at"), "epoch"
    )
    stats = rows.aggregate(
        count=Count("id"), p50=PercentileCont(duration, 0.5), p99=PercentileCont(duration, 0.99)
    )
    if stats["count"] < 2:
        return {}
    p50, p99 = Decimal(str(stats["p50"])), Decimal(str(stats["p99"]))
    ratio = p99 / p50 if p50 > 0 else Decimal(0)
    return {
        "": Observation(
            value=ratio,
            breached=stats["count"] >= rule.min_samples and ratio > rule.threshold,
            detail=f"P99 {p99:.1f} s against P50 {p50:.1f} s over {stats['count']} tasks",
        )
    }


def cost_outliers(rule: AlertRule, now: datetime) -> Observations:
    """Cost per session (its tasks in the window): P95 against the median."""
    since = now - timedelta(seconds=rule.window_s)
    stats = (
        Task.objects.filter(created_at__gte=since, created_at__lte=now)
        .values("session_id")
        .annotate(cost=Sum("cost_usd"))
        .aggregate(
            count=Count("session_id"), median=PercentileCont("cost", 0.5), p95=PercentileCont("cost", 0.95)
        )
    )
    if stats["count"] < 2:
        return {}
    median, p95 = Decimal(str(stats["median"])), Decimal(str(stats["p95"]))
    ratio = p95 / median if median > 0 else Decimal(0)
    return {
        "": Observation(
            value=ratio,
            breached=stats["count"] >= rule.min_samples and ratio > rule.threshold,
            detail=f"P95 ${p95:.6f} against median ${median:.6f} over {stats['count']} sessions",
        )
    }


# Guardrail spans whose guard name says it detected injected instructions; none exist until
# the untrusted-content guard records them, and the rule then counts them without a change.
_INJECTION_HOURLY = """
SELECT floor(extract(epoch FROM (%(now)s - started_at)) / 3600)::int AS hours_ago, count(*)
FROM tracing_span
WHERE kind = 'guardrail' AND started_at > %(since)s AND started_at <= %(now)s
  AND attributes ->> 'tollgate.guardrail.name' LIKE '%%injection%%'
  AND attributes ->> 'tollgate.guardrail.verdict' <> 'allow'
GROUP BY 1
"""


def injection_spike(rule: AlertRule, now: datetime) -> Observations:
    """Detections in the last hour against mean + threshold standard deviations of the hours before it."""
    hours = max(int(rule.window_s // 3600), 1)
    with connection.cursor() as cursor:
        cursor.execute(_INJECTION_HOURLY, {"now": now, "since": now - timedelta(hours=hours + 1)})
        counts = {int(row[0]): int(row[1]) for row in cursor.fetchall()}
    current = counts.get(0, 0)
    history = [counts.get(ago, 0) for ago in range(1, hours + 1)]
    mean = statistics.fmean(history)
    spread = statistics.pstdev(history)
    limit = Decimal(str(mean)) + rule.threshold * Decimal(str(spread))
    return {
        "": Observation(
            value=Decimal(current),
            breached=current >= rule.min_samples and Decimal(current) > limit,
            detail=f"{current} detections in the last hour; usually {mean:.1f} ± {spread:.1f} an hour",
        )
    }


MEASURES = {
    AlertRule.Kind.TOOL_ERROR_RATE: tool_error_rate,
    AlertRule.Kind.BUDGET_BURN: budget_burn,
    AlertRule.Kind.STUCK_SESSIONS: stuck_sessions,
    AlertRule.Kind.COST_OUTLIERS: cost_outliers,
    AlertRule.Kind.INJECTION_SPIKE: injection_spike,
}

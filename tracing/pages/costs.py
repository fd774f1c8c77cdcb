"""Cost pages: spend over time per agent, user or model; cost per session; top spenders; tool health."""

from datetime import timedelta

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from console.pages.auth import AuthedRequest
from core import clock
from tracing import costs
from tracing.pages.access import operator_required
from tracing.tool_health import tool_health

# Range → (length, hourly buckets?).
RANGES = {
    "24h": (timedelta(hours=24), True),
    "7d": (timedelta(days=7), False),
    "30d": (timedelta(days=30), False),
}


@require_GET
@operator_required
def cost_overview(request: AuthedRequest) -> HttpResponse:
    span = request.GET.get("range", "24h")
    if span not in RANGES:
        span = "24h"
    by = request.GET.get("by", "agent")
    if by not in costs.GROUPS:
        by = "agent"
    length, hourly = RANGES[span]
    until = clock.now()
    since = until - length
    series = costs.cost_series(since=since, until=until, by=by, hourly=hourly)
    chart = {
        "labels": [bucket.strftime("%m-%d %H:00" if hourly else "%Y-%m-%d") for bucket in series.buckets],
        "lines": {group: [float(value) for value in line] for group, line in series.lines.items()},
    }
    context = {
        "range": span,
        "ranges": list(RANGES),
        "by": by,
        "groups": list(costs.GROUPS),
        "series": series,
        "total": sum(series.totals.values()),
        "chart": chart,
        "distribution": costs.session_distribution(since=since, until=until),
        "top_sessions": costs.session_costs(since=since, until=until),
        "tools": tool_health(now=until),
    }
    return render(request, "tracing/costs.html", context)

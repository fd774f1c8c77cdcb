"""The daily report page and its CSV export."""

from datetime import date, timedelta

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from console.pages.auth import AuthedRequest
from core import clock
from tracing.pages.access import operator_required
from tracing.reports.daily import daily_report, daily_report_csv


def _day(request: AuthedRequest) -> date:
    """The `day` asked for (YYYY-MM-DD), else yesterday (UTC): the last whole day."""
    yesterday = clock.now().date() - timedelta(days=1)
    try:
        return date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        return yesterday


@require_GET
@operator_required
def report_daily(request: AuthedRequest) -> HttpResponse:
    day = _day(request)
    context = {
        "report": daily_report(day=day),
        "previous": day - timedelta(days=1),
        "next": day + timedelta(days=1),
    }
    return render(request, "tracing/report_daily.html", context)


@require_GET
@operator_required
def report_daily_csv(request: AuthedRequest) -> HttpResponse:
    report = daily_report(day=_day(request))
    response = HttpResponse(daily_report_csv(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="tollgate-report-{report.day.isoformat()}.csv"'
    return response

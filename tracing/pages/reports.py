"""The daily report page and its CSV export."""

from datetime import date, timedelta

from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from console.pages.auth import AuthedRequest
from core import clock
from tracing.pages.access import operator_required
from tracing.reports.daily import daily_report, daily_report_csv

# Before any task could exist; bounds `day` so that its neighbours are dates too.
EARLIEST_DAY = date(2000, 1, 1)


class BadDay(Exception):
    pass


def _day(request: AuthedRequest) -> date:
    """The `day` asked for (YYYY-MM-DD), else yesterday (UTC): the last whole day.

    A value that is not a date shows yesterday; a date before EARLIEST_DAY or after today is
    refused (BadDay), since the report and its neighbours' links are computed from it.
    """
    today = clock.now().date()
    try:
        day = date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        return today - timedelta(days=1)
    if not EARLIEST_DAY <= day <= today:
        raise BadDay(f"day must be from {EARLIEST_DAY} to {today}")
    return day


def _bad_day(error: BadDay) -> HttpResponse:
    return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")


@require_GET
@operator_required
def report_daily(request: AuthedRequest) -> HttpResponse:
    try:
        day = _day(request)
    except BadDay as error:
        return _bad_day(error)
    context = {
        "report": daily_report(day=day),
        "previous": day - timedelta(days=1),
        "next": day + timedelta(days=1) if day < clock.now().date() else None,
    }
    return render(request, "tracing/report_daily.html", context)


@require_GET
@operator_required
def report_daily_csv(request: AuthedRequest) -> HttpResponse:
    try:
        report = daily_report(day=_day(request))
    except BadDay as error:
        return _bad_day(error)
    response = HttpResponse(daily_report_csv(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="tollgate-report-{report.day.isoformat()}.csv"'
    return response

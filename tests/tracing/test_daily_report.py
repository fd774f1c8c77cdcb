"""The daily report: its numbers, the page, the CSV and the morning email."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from agents.models import Task
from tests.factories import make_agent
from tests.tracing import alerting
from tracing.models import Span
from tracing.reports.daily import daily_report
from tracing.tasks import daily_report_send

DAY = date(2026, 5, 1)
MORNING = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
HOSTILE = '=HYPERLINK("http://x")<img src=x onerror=alert(1)>'


@pytest.fixture
def day_of_work(db, requester, settings, time_machine):
    """Four tasks on DAY (two succeeded, one halted, one still running), one the day before."""
    settings.REPORT_HUMAN_COST_PER_TASK_USD = Decimal("4.00")
    make_agent("support-bot", model="sim/refund")
    time_machine.move_to(MORNING - timedelta(days=1), tick=False)
    alerting.task(requester, cost="100")
    time_machine.move_to(MORNING, tick=False)
    made = []
    for status, cost in (
        ("succeeded", "0.30"),
        ("succeeded", "0.10"),
        ("halted", "0.05"),
        ("running", "0.01"),
    ):
        task = alerting.task(requester, cost=cost)
        Task.objects.filter(pk=task.pk).update(status=status)
        model = HOSTILE if status == "halted" else "gpt-a"
        alerting.span(
            task,
            kind=Span.Kind.MODEL,
            at=MORNING,
            **{"tollgate.cost_usd": cost, "gen_ai.request.model": model},
        )
        made.append(task)
    return made


def test_the_numbers_of_a_day(day_of_work):
    report = daily_report(day=DAY)

    assert (report.tasks, report.succeeded, report.failed, report.unfinished) == (4, 2, 1, 1)
    assert report.success_rate == Decimal(2) / Decimal(3)
    assert report.total_cost == Decimal("0.46")
    assert report.cost_per_success == Decimal("0.23")
    assert (report.human_cost, report.saved) == (Decimal("8.00"), Decimal("7.54"))
    assert report.top_agents == {"support-bot": Decimal("0.46")}
    assert report.top_models == {"gpt-a": Decimal("0.41"), HOSTILE: Decimal("0.05")}
    assert [spend.cost for spend in report.top_sessions] == [
        Decimal("0.30"),
        Decimal("0.10"),
        Decimal("0.05"),
        Decimal("0.01"),
    ]


def test_a_day_without_tasks_reports_zeros_without_dividing_by_zero(db):
    report = daily_report(day=DAY)

    assert (report.tasks, report.total_cost, report.success_rate, report.cost_per_success) == (
        0,
        0,
        None,
        None,
    )


def test_the_page_shows_the_day_escaped_and_only_to_operators(client, reviewer, requester, day_of_work):
    url = reverse("tracing:report_daily")
    client.force_login(requester)
    assert client.get(url, {"day": "2026-05-01"}).status_code == 403
    client.force_login(reviewer)

    response = client.get(url, {"day": "2026-05-01"})

    html = response.content.decode()
    assert response.context["report"].day == DAY
    assert "<img" not in html
    assert "$0.460000" in html
    assert "$8.00" in html
    assert client.get(url, {"day": "garbage"}).context["report"].day == DAY - timedelta(days=1) + timedelta(
        days=0
    )


def test_the_csv_has_every_number_and_names_that_cannot_run_as_formulas(client, reviewer, day_of_work):
    client.force_login(reviewer)

    response = client.get(reverse("tracing:report_daily_csv"), {"day": "2026-05-01"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="tollgate-report-2026-05-01.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    values = {(section, name): value for section, name, value in rows[1:]}
    assert values[("summary", "tasks")] == "4"
    assert Decimal(values[("summary", "total_cost_usd")]) == Decimal("0.46")
    assert Decimal(values[("summary", "cost_per_successful_task_usd")]) == Decimal("0.23")
    assert Decimal(values[("summary", "human_cost_usd")]) == Decimal("8.00")
    assert Decimal(values[("top_model", "'" + HOSTILE)]) == Decimal("0.05")


def test_the_morning_email_carries_yesterdays_report_and_its_csv(
    settings, day_of_work, mailoutbox, time_machine
):
    settings.REPORT_EMAILS = ["ops@example.com"]
    time_machine.move_to(MORNING + timedelta(days=1), tick=False)

    assert daily_report_send() == 1

    [mail] = mailoutbox
    assert mail.to == ["ops@example.com"]
    assert mail.subject == "[Tollgate] daily report 2026-05-01"
    assert "Tasks: 4 (2 succeeded" in mail.body
    assert "Cost per successful task: $0.230000" in mail.body
    [(name, content, mimetype)] = mail.attachments
    assert (name, mimetype) == ("tollgate-report-2026-05-01.csv", "text/csv")
    assert "summary,tasks,4" in content


def test_no_recipients_no_email(settings, db, mailoutbox):
    settings.REPORT_EMAILS = []

    assert daily_report_send() == 0
    assert mailoutbox == []


def test_a_day_out_of_range_is_refused_with_the_range(client, reviewer, day_of_work):
    """9999-12-31 used to answer 500: the page computes the next day from it."""
    client.force_login(reviewer)
    for name in ("tracing:report_daily", "tracing:report_daily_csv"):
        for day in ("9999-12-31", "0001-01-01", "1999-12-31", "2026-05-02"):
            response = client.get(reverse(name), {"day": day})
            assert response.status_code == 400, (name, day)
            assert response.content.decode() == "day must be from 2000-01-01 to 2026-05-01"
    today = client.get(reverse("tracing:report_daily"), {"day": "2026-05-01"})
    assert today.context["next"] is None

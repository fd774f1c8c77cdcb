"""The daily report: tasks, success rate, cost, cost per successful task, top cost drivers, and
what people would have cost for the same work (a configurable cost per task for a person)."""

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from agents.models import Task
from tracing import costs

TOP = 5


@dataclass(frozen=True)
class DailyReport:
    day: date
    tasks: int
    succeeded: int
    failed: int  # failed, halted or cancelled
    unfinished: int
    total_cost: Decimal
    human_cost_per_task: Decimal
    top_agents: dict[str, Decimal]
    top_models: dict[str, Decimal]
    top_sessions: list[costs.SessionSpend]

    @property
    def success_rate(self) -> Decimal | None:
        finished = self.succeeded + self.failed
        return Decimal(self.succeeded) / finished if finished else None

    @property
    def cost_per_success(self) -> Decimal | None:
        return self.total_cost / self.succeeded if self.succeeded else None

    @property
    def human_cost(self) -> Decimal:
        """What people would have cost for the tasks the agents completed."""
        return self.human_cost_per_task * self.succeeded

    @property
    def saved(self) -> Decimal:
        return self.human_cost - self.total_cost


def daily_report(*, day: date) -> DailyReport:
    """Tasks created on `day` (UTC) and what they cost."""
    since = datetime.combine(day, time(0), tzinfo=UTC)
    until = since + timedelta(days=1)
    tasks = Task.objects.filter(created_at__gte=since, created_at__lt=until)
    done = Q(status__in=[Task.Status.FAILED, Task.Status.HALTED, Task.Status.CANCELLED])
    counts = tasks.aggregate(
        tasks=Count("id"),
        succeeded=Count("id", filter=Q(status=Task.Status.SUCCEEDED)),
        failed=Count("id", filter=done),
        cost=Coalesce(Sum("cost_usd"), Decimal(0)),
    )
    sessions = costs.session_costs(since=since, until=until - timedelta(microseconds=1), limit=TOP)
    per_agent = costs.cost_series(since=since, until=until, by="agent", hourly=False).totals
    per_model = costs.cost_series(since=since, until=until, by="model", hourly=False).totals
    return DailyReport(
        day=day,
        tasks=counts["tasks"],
        succeeded=counts["succeeded"],
        failed=counts["failed"],
        unfinished=counts["tasks"] - counts["succeeded"] - counts["failed"],
        total_cost=counts["cost"],
        human_cost_per_task=settings.REPORT_HUMAN_COST_PER_TASK_USD,
        top_agents=dict(list(per_agent.items())[:TOP]),
        top_models=dict(list(per_model.items())[:TOP]),
        top_sessions=sessions,
    )


def daily_report_csv(report: DailyReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "name", "value"])
    rows = [
        ("summary", "day", report.day.isoformat()),
        ("summary", "tasks", report.tasks),
        ("summary", "succeeded", report.succeeded),
        ("summary", "failed_halted_or_cancelled", report.failed),
        ("summary", "unfinished", report.unfinished),
        ("summary", "success_rate", _blank(report.success_rate)),
        ("summary", "total_cost_usd", report.total_cost),
        ("summary", "cost_per_successful_task_usd", _blank(report.cost_per_success)),
        ("summary", "human_cost_per_task_usd", report.human_cost_per_task),
        ("summary", "human_cost_usd", report.human_cost),
        ("summary", "saved_usd", report.saved),
    ]
    rows += [("top_agent", name, amount) for name, amount in report.top_agents.items()]
    rows += [("top_model", name, amount) for name, amount in report.top_models.items()]
    rows += [("top_session", spend.session_id, spend.cost) for spend in report.top_sessions]
    writer.writerows((section, _cell(name), value) for section, name, value in rows)
    return out.getvalue()


def daily_report_text(report: DailyReport) -> str:
    rate = f"{report.success_rate:.1%}" if report.success_rate is not None else "n/a"
    per_success = f"${report.cost_per_success:.6f}" if report.cost_per_success is not None else "n/a"
    lines = [
        f"Tollgate daily report for {report.day.isoformat()} (UTC)",
        "",
        f"Tasks: {report.tasks} ({report.succeeded} succeeded, {report.failed} failed/halted/cancelled, "
        f"{report.unfinished} unfinished)",
        f"Success rate: {rate}",
        f"Total cost: ${report.total_cost:.6f}",
        f"Cost per successful task: {per_success}",
        f"People for the same {report.succeeded} tasks: ${report.human_cost:.2f} "
        f"(at ${report.human_cost_per_task} a task); saved ${report.saved:.2f}",
        "",
        "Top agents by cost:",
        *[f"  {name}: ${amount:.6f}" for name, amount in report.top_agents.items()],
        "Top models by cost:",
        *[f"  {name}: ${amount:.6f}" for name, amount in report.top_models.items()],
    ]
    return "\n".join(lines) + "\n"


def daily_report_email(*, day: date) -> int:
    if not settings.REPORT_EMAILS:
        return 0
    report = daily_report(day=day)
    message = EmailMessage(
        subject=f"[Tollgate] daily report {day.isoformat()}",
        body=daily_report_text(report),
        to=list(settings.REPORT_EMAILS),
    )
    message.attach(f"tollgate-report-{day.isoformat()}.csv", daily_report_csv(report), "text/csv")
    return message.send()


def _blank(value: Decimal | None) -> Decimal | str:
    return "" if value is None else value


def _cell(value: object) -> str:
    # A name (agent, model) that starts like a formula would run in a spreadsheet: make it text.
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

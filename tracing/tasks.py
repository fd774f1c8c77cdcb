"""Celery entry points for tracing: thin adapters over the alert services."""

import uuid
from datetime import timedelta

from celery import shared_task

from core import clock
from tracing.alerts import services
from tracing.export import otlp
from tracing.reports import daily


@shared_task(name="tracing.tasks.alerts_evaluate")
def alerts_evaluate() -> dict[str, int]:
    return services.alerts_evaluate(now=clock.now())


@shared_task(name="tracing.tasks.trace_export", acks_late=True)
def trace_export(task_id: str) -> int:
    return otlp.trace_export(task_id=uuid.UUID(task_id))


@shared_task(name="tracing.tasks.daily_report_send")
def daily_report_send() -> int:
    """Beat, each morning: yesterday's report to REPORT_EMAILS."""
    return daily.daily_report_email(day=clock.now().date() - timedelta(days=1))

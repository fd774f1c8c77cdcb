"""Celery entry points for tracing: thin adapters over the alert services."""

import uuid

from celery import shared_task

from console import clock
from tracing.alerts import notify, services
from tracing.export import otlp


@shared_task(name="tracing.tasks.alerts_evaluate")
def alerts_evaluate() -> dict[str, int]:
    return services.alerts_evaluate(now=clock.now())


@shared_task(name="tracing.tasks.alert_notify", acks_late=True)
def alert_notify(alert_id: int, transition: str) -> dict:
    return notify.alert_notify(alert_id=alert_id, transition=transition)


@shared_task(name="tracing.tasks.trace_export", acks_late=True)
def trace_export(task_id: str) -> int:
    return otlp.trace_export(task_id=uuid.UUID(task_id))

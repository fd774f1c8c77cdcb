"""Celery entry points for tracing: thin adapters over the alert services."""

from celery import shared_task

from console import clock
from tracing.alerts import notify, services


@shared_task(name="tracing.tasks.alerts_evaluate")
def alerts_evaluate() -> dict[str, int]:
    return services.alerts_evaluate(now=clock.now())


@shared_task(name="tracing.tasks.alert_notify", acks_late=True)
def alert_notify(alert_id: int, transition: str) -> dict:
    return notify.alert_notify(alert_id=alert_id, transition=transition)

"""Celery entry points for approvals: thin adapters that take ids and call one service."""

import uuid

from celery import shared_task
from django.db import close_old_connections

from approvals import audit_anchors, services


@shared_task(name="approvals.tasks.action_request_due", acks_late=True)
def action_request_due(request_id: str) -> str | None:
    close_old_connections()
    return services.action_request_timeout(request_id=uuid.UUID(request_id))


@shared_task(name="approvals.tasks.sweep")
def sweep() -> dict[str, int]:
    close_old_connections()
    return services.action_requests_sweep()


@shared_task(name="approvals.tasks.audit_anchor")
def audit_anchor() -> dict:
    """Beat, every AUDIT_ANCHOR_S: the audit chain's head to the anchor file, the log and the webhook."""
    close_old_connections()
    return audit_anchors.audit_anchor_write()

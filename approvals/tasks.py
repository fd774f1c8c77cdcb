"""Celery entry points for approvals: thin adapters that take ids and call one service."""

import uuid

from celery import Task, shared_task
from django.db import close_old_connections

from approvals import audit_anchors, services
from approvals.external import callback


@shared_task(name="approvals.tasks.action_request_due", acks_late=True)
def action_request_due(request_id: str) -> str | None:
    close_old_connections()
    return services.action_request_timeout(request_id=uuid.UUID(request_id))


@shared_task(name="approvals.tasks.sweep")
def sweep() -> dict[str, int]:
    close_old_connections()
    return services.action_requests_sweep()


@shared_task(name="approvals.tasks.external_callback", bind=True, acks_late=True, max_retries=5)
def external_callback(self: Task, action_id: str) -> int | str | None:
    """The signed decision callback; an unreachable or failing receiver is retried with backoff."""
    close_old_connections()
    sent = callback.external_callback_send(action_id=uuid.UUID(action_id))
    if sent is not None and not (isinstance(sent, int) and sent < 300):
        raise self.retry(countdown=2**self.request.retries)
    return sent


@shared_task(name="approvals.tasks.audit_anchor")
def audit_anchor() -> dict:
    """Beat, every AUDIT_ANCHOR_S: the audit chain's head to the anchor file, the log and the webhook."""
    close_old_connections()
    return audit_anchors.audit_anchor_write()

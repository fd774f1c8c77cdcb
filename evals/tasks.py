"""Celery entry points for evals: thin adapters that take ids and call one service."""

import uuid

from celery import shared_task
from django.db import close_old_connections

from agents.runtime.waiting import db_connection_release
from evals.services.runs import eval_case_check, eval_cases_sweep


@shared_task(name="evals.tasks.case_check", acks_late=True)
def case_check(task_id: str) -> str | None:
    close_old_connections()
    try:
        return eval_case_check(task_id=uuid.UUID(task_id))
    finally:
        db_connection_release()


@shared_task(name="evals.tasks.sweep")
def sweep() -> int:
    """Beat: cases whose task ended without its check message (lost, or cancelled while queued)."""
    close_old_connections()
    try:
        return eval_cases_sweep()
    finally:
        db_connection_release()

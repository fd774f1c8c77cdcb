"""Celery entry points for notifications: thin adapters that take ids and call one function."""

import uuid

from celery import Task, shared_task
from django.db import close_old_connections

from notifications import notices, slack_cards, slack_client


@shared_task(name="notifications.tasks.notice_send", bind=True, acks_late=True, max_retries=None)
def notice_send(self: Task, key: str) -> str:
    close_old_connections()
    try:
        return notices.notice_deliver(key=key)
    except notices.NoticeFailed as exc:
        # The row says `failed`; the retry claims it again (NOTIFY_MAX_ATTEMPTS bounds the tries).
        raise self.retry(countdown=notices.retry_delay_s(key=key), exc=exc) from exc


@shared_task(
    name="notifications.tasks.slack_card_update",
    acks_late=True,
    autoretry_for=(notices.NoticeFailed,),
    retry_backoff=True,
    max_retries=4,
)
def slack_card_update(request_id: str) -> int:
    close_old_connections()
    return slack_cards.slack_card_update(request_id=uuid.UUID(request_id))


@shared_task(name="notifications.tasks.slack_ephemeral")
def slack_ephemeral(channel: str, user: str, text: str) -> None:
    slack_client.slack_ephemeral(channel=channel, user=user, text=text)


@shared_task(name="notifications.tasks.sweep")
def sweep() -> int:
    close_old_connections()
    return notices.notices_sweep()

"""Outbound notices sent once: a row per notice, claimed by a conditional update before sending.

A notice is created (unique key) when its event commits and sent by a Celery task. Sending claims
the row first (`pending|failed → claimed`, one winner however many deliveries or threads race),
then records `sent`, or `failed` so that a retry with backoff may claim it again, or `gave_up`
after NOTIFY_MAX_ATTEMPTS. A worker that dies between the claim and the record leaves `claimed`:
the notice is not sent again (at most once), because the receiver may already have it.
"""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from core import clock
from core.transactions import after_commit
from notifications.models import Notice

logger = logging.getLogger(__name__)
Status = Notice.Status
MAX_ERROR_CHARS = 2000


class NoticeFailed(Exception):
    """A send that did not reach its receiver; `retry` says whether trying again may help."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


def notice_check_status(status: int, *, what: str) -> None:
    """Raise NoticeFailed for an HTTP answer that did not deliver: retry a 429 or 5xx, not a 4xx."""
    if status == 429 or status >= 500:
        raise NoticeFailed(f"{what} answered {status}")
    if status >= 400:
        raise NoticeFailed(f"{what} answered {status}", retry=False)


Sender = Callable[[Notice], None]
_senders: dict[str, Sender] = {}


def sender(kind: str) -> Callable[[Sender], Sender]:
    """Register the function that sends notices of `kind`."""

    def register(func: Sender) -> Sender:
        _senders[kind] = func
        return func

    return register


def notice_create(*, kind: str, subject: str, suffix: str = "") -> bool:
    """Record a notice and send it after commit, unless it exists already. True if it is new."""
    key = f"{kind}:{subject}{suffix}"
    try:
        with transaction.atomic():
            Notice.objects.create(key=key, kind=kind, subject=subject, created_at=clock.now())
    except IntegrityError:
        return False  # created already: by another event, process or delivery
    after_commit(notice_enqueue, key=key)
    return True


def notice_enqueue(*, key: str, countdown: float = 0) -> None:
    from notifications.tasks import notice_send

    notice_send.apply_async(args=[key], countdown=countdown)


def notice_deliver(*, key: str) -> str:
    """Claim the notice and send it. Its status afterwards; raises NoticeFailed to be retried."""
    claimed = Notice.objects.filter(key=key, status__in=[Status.PENDING, Status.FAILED]).update(
        status=Status.CLAIMED, claimed_at=clock.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        return "skipped"  # sent, being sent, given up, or unknown
    notice = Notice.objects.get(key=key)
    try:
        _senders[notice.kind](notice)
    except NoticeFailed as exc:
        final = not exc.retry or notice.attempts >= settings.NOTIFY_MAX_ATTEMPTS
        status = Status.GAVE_UP if final else Status.FAILED
        Notice.objects.filter(pk=notice.pk, status=Status.CLAIMED).update(
            status=status, last_error=str(exc)[:MAX_ERROR_CHARS]
        )
        logger.warning("notice %s attempt %d failed (%s): %s", key, notice.attempts, status, exc)
        if final:
            return status
        raise
    Notice.objects.filter(pk=notice.pk, status=Status.CLAIMED).update(status=Status.SENT, sent_at=clock.now())
    return Status.SENT


def retry_delay_s(*, key: str) -> float:
    """Backoff before the next attempt: NOTIFY_RETRY_BASE_S doubled per attempt made."""
    attempts = Notice.objects.filter(key=key).values_list("attempts", flat=True).first() or 1
    return float(settings.NOTIFY_RETRY_BASE_S * 2 ** (attempts - 1))


def notices_sweep(*, older_than_s: float = 60) -> int:
    """Beat: enqueue again notices still pending (their message was lost, e.g. the broker was down)."""
    cutoff = clock.now() - timedelta(seconds=older_than_s)
    keys = list(
        Notice.objects.filter(status=Status.PENDING, created_at__lt=cutoff).values_list("key", flat=True)[
            :500
        ]
    )
    for key in keys:
        notice_enqueue(key=key)
    return len(keys)

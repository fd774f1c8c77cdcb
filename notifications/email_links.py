"""One-click decision links in e-mails: signed, single-use, bound to a recipient and a version.

The URL carries the link row's id signed with Django's signer (salted), so a forged or altered
link is refused before the database is asked. Opening it (GET) only shows a confirmation behind
the login; the POST consumes the row with a conditional update and decides through the same
service as the console, in one transaction: a refused decision leaves the link unused.
"""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.db import transaction

from approvals.models import ActionRequest
from approvals.services import action_request_decide
from core import clock
from core.errors import Conflict, Forbidden, NotFound
from core.tiers import RiskTier
from notifications.models import EmailLink

SALT = "tollgate.notifications.email-link"
DECISIONS = ("approve", "reject")
COMMENT = "decided from an e-mail link"
# A signed UUID is about 90 characters; anything much longer was not made here.
MAX_TOKEN_CHARS = 200


def link_expiry(request: ActionRequest) -> datetime:
    """When the request stops taking decisions, and at the latest EMAIL_LINK_MAX_AGE_S from now."""
    latest = clock.now() + timedelta(seconds=settings.EMAIL_LINK_MAX_AGE_S)
    ends = [moment for moment in (request.expires_at, request.autosend_at) if moment is not None]
    return min([latest, *ends])


def email_links_create(*, request: ActionRequest, recipient: str) -> dict[str, str]:
    """The signed URLs, by decision, `recipient` may use for the request's current version."""
    if request.tier == RiskTier.CRITICAL or request.status != ActionRequest.Status.PENDING:
        return {}
    now, expires_at = clock.now(), link_expiry(request)
    urls = {}
    for decision in DECISIONS:
        link = EmailLink.objects.create(
            request=request,
            recipient=recipient,
            decision=decision,
            version=request.version,
            expires_at=expires_at,
            created_at=now,
        )
        token = signing.dumps(str(link.id), salt=SALT)
        urls[decision] = f"{settings.TOLLGATE_URL}/notifications/email/{token}/"
    return urls


def email_link_open(*, token: str, user: User) -> EmailLink:
    """The link behind `token` if `user` may use it now; changes nothing."""
    if len(token) > MAX_TOKEN_CHARS:
        raise NotFound("this link is not valid")
    try:
        link_id = uuid.UUID(signing.loads(token, salt=SALT))
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise NotFound("this link is not valid") from exc
    link = EmailLink.objects.select_related("request").filter(pk=link_id).first()
    if link is None:
        raise NotFound("this link is not valid")
    if not user.email or user.email.strip().lower() != link.recipient.lower():
        raise Forbidden("this link was sent to someone else: sign in as its recipient")
    if link.used_at is not None:
        raise Conflict("this link has been used already")
    if link.expires_at <= clock.now():
        raise Conflict("this link has expired")
    return link


def email_link_use(*, token: str, user: User, comment: str = "") -> ActionRequest:
    """Consume the link and decide; both or neither (a refused decision rolls the use back)."""
    link = email_link_open(token=token, user=user)
    with transaction.atomic():
        # Race: two submissions of one link; the conditional update lets one through.
        used = EmailLink.objects.filter(pk=link.pk, used_at__isnull=True, expires_at__gt=clock.now()).update(
            used_at=clock.now(), used_by=user
        )
        if not used:
            raise Conflict("this link has been used already")
        return action_request_decide(
            action_request=link.request,
            actor=user,
            decision=link.decision,
            comment=comment or COMMENT,
            version=link.version,
        )

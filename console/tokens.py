"""API tokens: created once (the raw token is shown a single time), stored hashed; audited."""

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser, User
from django.db import transaction

from console.models import ApiToken, hash_token
from core import clock
from core.audit_log import audit_record
from core.errors import NotFound


@transaction.atomic
def api_token_create(*, user: User, name: str) -> tuple[str, ApiToken]:
    raw = ApiToken.generate()
    token = ApiToken.objects.create(user=user, name=name, digest=hash_token(raw), hint=raw[:10])
    audit_record(
        actor=user,
        action="api_token.created",
        object_type="api_token",
        object_id=str(token.pk),
        after={"name": name},
    )
    return raw, token


@transaction.atomic
def api_token_revoke(*, user: AbstractBaseUser, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens; revoking it again changes nothing.

    The conditional update keeps the first revocation time when two requests race.
    """
    mine = ApiToken.objects.filter(pk=token_id, user_id=user.pk)
    if not mine.exists():
        raise NotFound(f"no token {token_id} of yours", field="id")
    if mine.filter(revoked_at__isnull=True).update(revoked_at=clock.now()):
        audit_record(actor=user, action="api_token.revoked", object_type="api_token", object_id=str(token_id))
    return mine.get()


def api_token_authenticate(raw: str) -> User | None:
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=hash_token(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    # Written at most once a minute, so a busy client does not turn every read into a write.
    now = clock.now()
    ApiToken.objects.filter(pk=token.pk).exclude(last_used_at__gt=now - timedelta(minutes=1)).update(
        last_used_at=now
    )
    return token.user

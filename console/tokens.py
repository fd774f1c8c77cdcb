"""API tokens: created once (the raw token is shown a single time), stored hashed."""

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser, User

from console.models import ApiToken, hash_token
from core import clock
from core.errors import NotFound


def api_token_create(*, user: User, name: str) -> tuple[str, ApiToken]:
    raw = ApiToken.generate()
    token = ApiToken.objects.create(user=user, name=name, digest=hash_token(raw), hint=raw[:10])
    return raw, token


def api_token_revoke(*, user: AbstractBaseUser, token_id: int) -> None:
    """Revoke one of the user's own tokens; revoking it again changes nothing.

    The conditional update keeps the first revocation time when two requests race.
    """
    mine = ApiToken.objects.filter(pk=token_id, user_id=user.pk)
    if not mine.exists():
        raise NotFound(f"no token {token_id} of yours", field="id")
    mine.filter(revoked_at__isnull=True).update(revoked_at=clock.now())


def api_token_authenticate(raw: str) -> User | None:
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=hash_token(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    # Written at most once a minute, so a busy client does not turn every read into a write
    # (nor send one: the row just read says whether it is due). The conditional update keeps
    # concurrent requests from writing it more than once.
    now = clock.now()
    stale = now - timedelta(minutes=1)
    if token.last_used_at is None or token.last_used_at <= stale:
        ApiToken.objects.filter(pk=token.pk).exclude(last_used_at__gt=stale).update(last_used_at=now)
    return token.user

"""API tokens: created once (the raw token is shown a single time), stored hashed."""

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser, User

from console.models import ApiToken, hash_token
from core import clock
from core.errors import NotFound
from core.raw_rows import prepared_cursor, row_columns, row_instance, row_table


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
    """The active user of an unrevoked token, read afresh on every request: a revoked token or a
    deactivated user is refused from the next request on, in every process.

    One hand-written statement (core/raw_rows.py): the ORM's select_related query cost ~2.6 ms
    of CPU to compile against ~0.3 ms to run, and a cached token checked against a revocation
    marker would still need a round trip as dear as this one (bench/gate_cpu.py).
    """
    with prepared_cursor() as cursor:
        cursor.execute(_AUTHENTICATE, [hash_token(raw)])
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, last_used_at, *user_row = row
    # Written at most once a minute, so a busy client does not turn every read into a write
    # (nor send one: the row just read says whether it is due). The conditional update keeps
    # concurrent requests from writing it more than once.
    now = clock.now()
    stale = now - timedelta(minutes=1)
    if last_used_at is None or last_used_at <= stale:
        ApiToken.objects.filter(pk=token_id).exclude(last_used_at__gt=stale).update(last_used_at=now)
    return row_instance(User, user_row)


# Only the models' own table and column names are formatted in; the digest is a parameter.
_AUTHENTICATE = (
    f"SELECT t.id, t.last_used_at, {row_columns(User, 'u')} "  # noqa: S608
    f"FROM {row_table(ApiToken)} t JOIN {row_table(User)} u ON u.id = t.user_id "
    "WHERE t.digest = %s AND t.revoked_at IS NULL AND u.is_active"
)

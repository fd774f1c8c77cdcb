"""State changes the console makes that have no home in another app's services yet."""

from django.contrib.auth.models import AbstractBaseUser

from console.models import ApiToken
from core import clock
from core.errors import NotFound


def api_token_revoke(*, user: AbstractBaseUser, token_id: int) -> None:
    """Revoke one of the user's own tokens; revoking it again changes nothing.

    The conditional update keeps the first revocation time when two requests race.
    """
    mine = ApiToken.objects.filter(pk=token_id, user_id=user.pk)
    if not mine.exists():
        raise NotFound(f"no token {token_id} of yours")
    mine.filter(revoked_at__isnull=True).update(revoked_at=clock.now())

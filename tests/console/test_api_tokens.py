from console.models import ApiToken
from console.tokens import api_token_authenticate, api_token_create


def test_token_is_stored_hashed_and_authenticates_its_user(requester):
    raw, token = api_token_create(user=requester, name="ci")

    assert raw.startswith("tg_")
    assert raw not in {token.digest, token.hint}
    assert not ApiToken.objects.filter(digest=raw).exists()
    assert api_token_authenticate(raw) == requester


def test_revoked_or_unknown_token_authenticates_nobody(requester, time_machine):
    raw, token = api_token_create(user=requester, name="ci")
    ApiToken.objects.filter(pk=token.pk).update(revoked_at="2026-01-01T00:00:00Z")

    assert api_token_authenticate(raw) is None
    assert api_token_authenticate("tg_not-a-real-token") is None


def test_a_token_used_again_within_a_minute_sends_no_write(requester, time_machine):
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core import clock

    raw, token = api_token_create(user=requester, name="ci")

    def writes() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api_token_authenticate(raw) == requester
        return sum(query["sql"].startswith("UPDATE") for query in queries.captured_queries)

    assert writes() == 1
    first_use = ApiToken.objects.get(pk=token.pk).last_used_at
    assert writes() == 0
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first_use
    time_machine.move_to(clock.now() + timedelta(minutes=2))
    assert writes() == 1
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first_use

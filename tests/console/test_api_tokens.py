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

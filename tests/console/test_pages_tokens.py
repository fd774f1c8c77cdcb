"""The API tokens page: the raw token shown once, only one's own tokens, revoking."""

from django.urls import reverse

from console.models import ApiToken
from console.tokens import api_token_authenticate, api_token_create


def test_creating_a_token_shows_it_once_and_it_authenticates(client, requester):
    client.force_login(requester)

    response = client.post(reverse("console:tokens"), {"name": "billing service"})

    raw = response.context["raw_token"]
    assert raw.startswith("tg_")
    assert raw in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert api_token_authenticate(raw) == requester
    later = client.get(reverse("console:tokens")).content.decode()
    assert raw not in later
    assert "billing service" in later
    assert raw[:10] in later


def test_a_token_needs_a_name(client, requester):
    client.force_login(requester)

    response = client.post(reverse("console:tokens"), {"name": ""})

    assert response.context["raw_token"] is None
    assert response.context["form"].errors == {"name": ["This field is required."]}
    assert not ApiToken.objects.exists()


def test_list_shows_only_my_tokens(client, requester, outsider):
    api_token_create(user=requester, name="mine")
    api_token_create(user=outsider, name="theirs")
    client.force_login(requester)

    response = client.get(reverse("console:tokens"))

    assert [token.name for token in response.context["page"]] == ["mine"]


def test_revoking_my_token_stops_it_authenticating(client, requester):
    raw, token = api_token_create(user=requester, name="old")
    client.force_login(requester)

    response = client.post(reverse("console:token_revoke", args=[token.pk]), follow=True)

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api_token_authenticate(raw) is None
    assert "Token revoked." in response.content.decode()
    assert 'class="revoked"' in response.content.decode()


def test_revoking_twice_keeps_the_first_revocation_time(client, requester, time_machine):
    _raw, token = api_token_create(user=requester, name="old")
    client.force_login(requester)
    url = reverse("console:token_revoke", args=[token.pk])

    time_machine.move_to("2026-03-01T10:00:00Z", tick=False)
    client.post(url)
    time_machine.move_to("2026-03-02T10:00:00Z", tick=False)
    client.post(url)

    token.refresh_from_db()
    assert token.revoked_at.isoformat() == "2026-03-01T10:00:00+00:00"


def test_someone_elses_token_cannot_be_revoked(client, requester, outsider):
    raw, token = api_token_create(user=outsider, name="theirs")
    client.force_login(requester)

    response = client.post(reverse("console:token_revoke", args=[token.pk]))

    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert api_token_authenticate(raw) == outsider


def test_tokens_page_runs_a_constant_number_of_queries(client, requester, django_assert_max_num_queries):
    for i in range(60):
        api_token_create(user=requester, name=f"token {i}")
    client.force_login(requester)

    # Login session and user, page count, the page of tokens.
    with django_assert_max_num_queries(4):
        response = client.get(reverse("console:tokens"))

    assert len(response.context["page"]) == 50

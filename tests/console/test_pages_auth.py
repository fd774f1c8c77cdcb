"""Every console page needs a login; the login and logout pages are Django's own, styled."""

import uuid

import pytest
from django.urls import reverse

PAGES = [
    ("console:sessions", {}),
    ("console:session", {"session_id": uuid.uuid4()}),
    ("console:task", {"task_id": uuid.uuid4()}),
    ("console:task_live", {"task_id": uuid.uuid4()}),
    ("console:span_payload", {"task_id": uuid.uuid4(), "span_pk": 1, "part": "input"}),
    ("console:task_new", {}),
    ("console:tokens", {}),
]


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_anonymous_visitor_is_sent_to_login(client, db, name, kwargs):
    url = reverse(name, kwargs=kwargs)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('console:login')}?next={url}"


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("console:task_cancel", {"task_id": uuid.uuid4()}), ("console:token_revoke", {"token_id": 1})],
)
def test_anonymous_post_is_sent_to_login(client, db, name, kwargs):
    response = client.post(reverse(name, kwargs=kwargs))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))


def test_login_with_the_right_password_lands_on_sessions(client, requester):
    page = client.get(reverse("console:login"))
    assert page.status_code == 200
    assert b'name="password"' in page.content

    response = client.post(reverse("console:login"), {"username": "requester", "password": "requester-pass"})

    assert response.status_code == 302
    assert response["Location"] == reverse("console:sessions")
    assert client.get(reverse("console:sessions")).status_code == 200


def test_login_with_a_wrong_password_stays_on_the_form(client, requester):
    response = client.post(reverse("console:login"), {"username": "requester", "password": "nope"})

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert "_auth_user_id" not in client.session


def test_logout_ends_the_session(client, requester):
    client.force_login(requester)

    response = client.post(reverse("console:logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("console:login")
    assert client.get(reverse("console:sessions")).status_code == 302

"""Login throttling (django-axes): a username+address pair that keeps failing is locked out."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

LOGIN = "console:login"


def attempt(client: Client, username: str, password: str, *, address: str = "203.0.113.7"):
    return client.post(reverse(LOGIN), {"username": username, "password": password}, REMOTE_ADDR=address)


def fail_until_locked(client: Client, username: str, **kwargs) -> None:
    """Wrong passwords up to the limit: the last failure already answers with the lockout."""
    statuses = [attempt(client, username, "wrong", **kwargs).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]


def test_the_sixth_attempt_in_a_row_is_refused_even_with_the_right_password(client, requester):
    fail_until_locked(client, "requester")

    response = attempt(client, "requester", "requester-pass")

    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert b"15 minutes" in response.content
    assert b'name="password"' in response.content  # still the login page
    assert "_auth_user_id" not in client.session


def test_fewer_failures_then_the_right_password_logs_in_and_starts_the_count_again(client, requester):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "requester", "wrong")
    assert attempt(client, "requester", "requester-pass").status_code == 302

    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "requester", "wrong")
    assert attempt(client, "requester", "requester-pass").status_code == 302


def test_another_user_or_the_same_user_elsewhere_is_unaffected(client, requester, reviewer):
    fail_until_locked(client, "requester")

    assert attempt(Client(), "reviewer", "reviewer-pass").status_code == 302
    assert attempt(Client(), "requester", "requester-pass", address="198.51.100.9").status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, requester, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    fail_until_locked(client, "requester")
    assert attempt(client, "requester", "requester-pass").status_code == 429

    time_machine.shift(settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    assert attempt(client, "requester", "requester-pass").status_code == 429  # and restarts the wait
    time_machine.shift(settings.AXES_COOLOFF_TIME + timedelta(seconds=1))
    assert attempt(client, "requester", "requester-pass").status_code == 302


def test_a_locked_out_user_keeps_using_api_tokens(client, admin, admin_api, agent):
    fail_until_locked(client, "admin")
    assert attempt(client, "admin", "admin-pass").status_code == 429

    assert admin_api.get(f"/api/v1/agents/{agent.name}").status_code == 200


def test_the_admin_login_is_throttled_too(client, admin):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "admin", "password": "wrong"}, REMOTE_ADDR="203.0.113.7")

    response = client.post(
        "/admin/login/", {"username": "admin", "password": "admin-pass"}, REMOTE_ADDR="203.0.113.7"
    )

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("username", ["x" * 10_000, ""])
def test_hostile_usernames_are_refused_without_an_error(client, db, username):
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        assert attempt(client, username, "wrong").status_code in {200, 429}


def test_a_username_with_nul_is_refused_at_the_door_before_any_attempt_is_counted(client, db):
    # The input guard (console/input_guard.py) answers 400 for a NUL in any form field.
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        response = attempt(client, "\x00", "wrong")
        assert response.status_code == 400
        assert response.json()["error"]["field"] == "username"

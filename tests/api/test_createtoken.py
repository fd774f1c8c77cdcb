"""`manage.py createtoken USERNAME [--name NAME]` prints a working token once."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from console.models import ApiToken


def createtoken(*args):
    out, err = StringIO(), StringIO()
    call_command("createtoken", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_prints_a_token_that_authenticates_over_rest(client, requester):
    raw, notice = createtoken("requester", "--name", "ci")

    token = ApiToken.objects.get(user=requester)
    assert token.name == "ci"
    assert raw.startswith("tg_")
    assert raw != token.digest
    assert "shown once" in notice
    response = client.get(
        "/api/v1/tasks/00000000-0000-0000-0000-000000000000", headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 404  # authenticated; the task just does not exist


def test_each_run_creates_a_new_token(requester):
    first, _ = createtoken("requester")
    second, _ = createtoken("requester")

    assert first != second
    assert ApiToken.objects.filter(user=requester, name="cli").count() == 2


def test_unknown_or_inactive_users_get_no_token(requester):
    requester.is_active = False
    requester.save()

    for username in ("nobody", "requester"):
        with pytest.raises(CommandError, match="no active user"):
            createtoken(username)
    assert not ApiToken.objects.exists()


def test_a_blank_or_overlong_name_is_refused(requester):
    for name in ("  ", "n" * 101):
        with pytest.raises(CommandError, match="--name"):
            createtoken("requester", "--name", name)
    assert not ApiToken.objects.exists()

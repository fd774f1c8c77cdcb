"""The queue page selects its rows with the REST list's cursor pages, newest first."""

import json
import re

import pytest
from django.test import Client

from approvals.models import ActionRequest
from core.pagination import MAX_LIMIT
from tests.approvals.conftest import make_request

pytestmark = pytest.mark.django_db


def shown(response) -> list[str]:
    found = re.search(
        r'<script id="queue-initial" type="application/json">(.*?)</script>', response.content.decode()
    )
    assert found is not None
    return [item["id"] for item in json.loads(found.group(1))]


def test_a_new_request_is_on_the_first_page_however_many_wait(requester, reviewer):
    template = make_request(requester)
    fields = {
        f.attname: getattr(template, f.attname)
        for f in ActionRequest._meta.concrete_fields
        if f.attname != "id"
    }
    ActionRequest.objects.bulk_create(
        ActionRequest(**(fields | {"call_index": index})) for index in range(1, MAX_LIMIT + 3)
    )
    newest = make_request(requester)
    client = Client()
    client.force_login(reviewer)

    first = client.get("/approvals/")
    first_ids = shown(first)

    assert len(first_ids) == MAX_LIMIT
    assert first_ids[0] == str(newest.id)
    older = client.get(first.context["next"])
    assert len(shown(older)) == 4
    every = set(first_ids) | set(shown(older))
    assert every == {str(pk) for pk in ActionRequest.objects.values_list("id", flat=True)}


def test_a_forged_cursor_is_not_a_server_error(reviewer):
    client = Client()
    client.force_login(reviewer)
    assert client.get("/approvals/", {"cursor": "nope"}).status_code == 404

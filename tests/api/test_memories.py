"""POST/GET /api/v1/agents/{name}/memories and DELETE .../memories/{id}: admins only."""

import pytest

from agents.models import Memory, Session
from approvals.models import AuditEntry
from tests.factories import make_agent

pytestmark = pytest.mark.django_db

URL = "/api/v1/agents/support/memories"


@pytest.fixture
def agent(db):
    return make_agent("support", model="sim/echo")


def test_an_admin_adds_lists_and_deletes_memories(admin_api, agent):
    created = admin_api.post(URL, {"text": "Dana prefers store credit."}, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["text"] == "Dana prefers store credit."
    assert body["session"] is None
    assert body["task"] is None
    assert body["model"] == "wordllama/l2_supercat-256"

    listed = admin_api.get(URL)
    assert [m["id"] for m in listed.json()["items"]] == [body["id"]]

    deleted = admin_api.delete(f"{URL}/{body['id']}")
    assert deleted.status_code == 204
    assert not Memory.objects.exists()
    audit = AuditEntry.objects.filter(object_type="memory", object_id=str(body["id"]))
    assert [(e.action, e.actor_name) for e in audit] == [
        ("memory.created", "admin"),
        ("memory.deleted", "admin"),
    ]
    assert admin_api.delete(f"{URL}/{body['id']}").json()["error"]["code"] == "not_found"


def test_a_memory_for_one_session_names_a_session_of_this_agent(admin_api, agent, admin):
    other = make_agent("sales", model="sim/echo")
    foreign = Session.objects.create(agent=other, agent_version=other.current_version, owner=admin)
    own = Session.objects.create(agent=agent, agent_version=agent.current_version, owner=admin)

    refused = admin_api.post(URL, {"text": "x", "session": str(foreign.pk)}, content_type="application/json")
    accepted = admin_api.post(URL, {"text": "x", "session": str(own.pk)}, content_type="application/json")

    assert refused.status_code == 404
    assert refused.json()["error"]["field"] == "session"
    assert accepted.status_code == 201
    assert admin_api.get(URL, {"session": str(own.pk)}).json()["items"][0]["session"] == str(own.pk)


@pytest.mark.parametrize("client_name", ["requester_api", "reviewer_api", "outsider_api"])
def test_only_admins_may_touch_memories(request, agent, client_name):
    client = request.getfixturevalue(client_name)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"text": "x"}, content_type="application/json").status_code == 403


@pytest.mark.parametrize(
    "body",
    [{}, {"text": ""}, {"text": "x" * 2001}, {"text": "x", "extra": 1}, {"text": "x", "session": "nope"}],
)
def test_bad_bodies_are_4xx_json(admin_api, agent, body):
    response = admin_api.post(URL, body, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert "error" in response.json()


def test_an_unknown_agent_is_404(admin_api, db):
    response = admin_api.get("/api/v1/agents/nobody/memories")
    assert response.status_code == 404
    assert response.json()["error"]["field"] == "name"

"""POST /api/v1/tasks, GET /api/v1/tasks/{id}, POST /api/v1/tasks/{id}/cancel."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import Session, Step, Task
from agents.services.catalog import agent_create
from tests.api import run_concurrently
from tracing.models import Trace

URL = "/api/v1/tasks"


@pytest.fixture
def agent(admin, sim_priced):
    return agent_create(actor=admin, name="support-bot", model="sim/refund").agent


@pytest.fixture
def other_agent(admin, sim_priced):
    return agent_create(actor=admin, name="researcher", model="sim/research").agent


def submit(client, **fields):
    body = {"agent": "support-bot", "input": "Where is order 42?"} | fields
    return client.post(URL, body, content_type="application/json")


@pytest.fixture
def task(requester_api, agent):
    return Task.objects.get(pk=submit(requester_api).json()["id"])


def test_submitting_a_task_queues_it_in_a_new_session(requester_api, requester, agent):
    response = submit(requester_api, user="customer-7")

    assert response.status_code == 202, response.content
    body = response.json()
    task = Task.objects.get(pk=body["id"])
    assert body == {"id": str(task.id), "session": str(task.session_id), "status": "queued"}
    assert task.owner == requester
    assert task.input == "Where is order 42?"
    assert task.session.end_user == "customer-7"
    assert task.session.agent_version == agent.current_version
    assert Trace.objects.filter(task=task).exists()


def test_a_task_continues_a_session_of_its_owner(requester_api, agent):
    first = submit(requester_api).json()

    response = submit(requester_api, session=first["session"], input="And order 43?")

    assert response.status_code == 202
    assert response.json()["session"] == first["session"]
    assert Session.objects.count() == 1


def test_a_session_of_someone_else_or_of_another_agent_is_refused(
    requester_api, outsider_api, agent, other_agent
):
    theirs = submit(outsider_api).json()["session"]
    other_agents = submit(requester_api, agent="researcher").json()["session"]

    not_found = submit(requester_api, session=theirs)
    wrong_agent = submit(requester_api, session=other_agents)

    assert (not_found.status_code, not_found.json()["error"]["field"]) == (404, "session")
    assert (wrong_agent.status_code, wrong_agent.json()["error"]["field"]) == (422, "session")
    assert Task.objects.count() == 2


def test_an_unknown_agent_is_not_found(requester_api, agent):
    response = submit(requester_api, agent="ghost")

    assert response.status_code == 404
    assert response.json()["error"]["field"] == "agent"
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"input": ""}, "input"),
        ({"input": "   "}, "input"),
        ({"input": "x" * 100_001}, "input"),
        ({"session": "not-a-uuid"}, "session"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "k" * 201}, "idempotency_key"),
        ({"user": "u" * 201}, "user"),
        ({"agent": "../etc"}, "agent"),
        ({"priority": "high"}, "priority"),
    ],
)
def test_invalid_submissions_are_rejected_naming_the_field(requester_api, agent, fields, field):
    response = submit(requester_api, **fields)

    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field
    assert not Task.objects.exists()


def test_anonymous_submissions_are_unauthorized(client, agent):
    assert submit(client).status_code == 401
    assert not Task.objects.exists()


def test_the_same_idempotency_key_returns_the_same_task(requester_api, agent):
    first = submit(requester_api, idempotency_key="order-42-question")
    again = submit(requester_api, idempotency_key="order-42-question")

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == first.json()
    assert Task.objects.count() == 1


@pytest.mark.parametrize(
    "change",
    [{"input": "Where is order 43?"}, {"agent": "researcher"}, {"user": "customer-8"}, {"session": "first"}],
    ids=["input", "agent", "user", "session"],
)
def test_the_same_idempotency_key_with_another_request_is_a_conflict_naming_the_key(
    requester_api, agent, other_agent, change
):
    original = {"idempotency_key": "order-42", "user": "customer-7"}
    first = submit(requester_api, **original)
    if change.get("session") == "first":
        change = {"session": first.json()["session"]}

    again = submit(requester_api, **(original | change))

    assert again.status_code == 409, again.content
    error = again.json()["error"]
    assert error["field"] == "idempotency_key"
    assert "'order-42'" in error["message"]
    assert Task.objects.count() == 1


def test_a_key_kept_before_fingerprints_still_returns_its_task(requester_api, agent):
    first = submit(requester_api, idempotency_key="old-key").json()
    Task.objects.update(idempotency_fingerprint="")

    again = submit(requester_api, idempotency_key="old-key", input="anything else")

    assert again.status_code == 200
    assert again.json()["id"] == first["id"]


def test_idempotency_keys_belong_to_their_owner(requester_api, outsider_api, agent):
    mine = submit(requester_api, idempotency_key="k1").json()
    theirs = submit(outsider_api, idempotency_key="k1").json()

    assert mine["id"] != theirs["id"]
    assert Task.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_with_one_key_create_one_task(requester_api, agent):
    """The unique (owner, idempotency_key) constraint picks one winner; the others get its task."""
    responses = run_concurrently(*[lambda: submit(requester_api, idempotency_key="racing")] * 8)

    assert sorted(r.status_code for r in responses) == [200] * 7 + [202]
    assert len({r.json()["id"] for r in responses}) == 1
    assert Task.objects.count() == 1
    assert Session.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_of_two_requests_with_one_key_create_one_task_and_refuse_the_other(
    requester_api, agent
):
    """Whichever request wins the unique constraint, the other one's submissions get 409."""
    ask = [lambda: submit(requester_api, idempotency_key="racing", input="Where is order 42?")] * 4
    other = [lambda: submit(requester_api, idempotency_key="racing", input="Cancel order 42")] * 4
    responses = run_concurrently(*ask, *other)

    task = Task.objects.get()
    asked_first = task.input == "Where is order 42?"
    winners, losers = (responses[:4], responses[4:]) if asked_first else (responses[4:], responses[:4])
    assert sorted(r.status_code for r in winners) == [200, 200, 200, 202]
    assert {r.json()["id"] for r in winners} == {str(task.id)}
    assert [r.status_code for r in losers] == [409] * 4
    assert Session.objects.count() == 1


def add_step(task, index, *, tool_calls=(), tool_results=(), cost="0.000410"):
    return Step.objects.create(
        task=task,
        index=index,
        status=Step.Status.COMPLETED,
        model="sim/refund",
        response={
            "content": f"step {index}",
            "tool_calls": list(tool_calls),
            "usage": {},
            "model": "refund",
            "provider": "simulator",
            "finish_reason": "tool_calls",
            "latency_ms": 3.0,
        },
        tool_results=list(tool_results),
        input_tokens=100,
        output_tokens=20,
        cached_input_tokens=30,
        cost_usd=Decimal(cost),
        model_latency_ms=3.0,
        started_at=timezone.now(),
        finished_at=timezone.now() + timedelta(milliseconds=5),
    )


def test_the_owner_reads_status_usage_and_steps(requester_api, task):
    call = {"id": "call_1", "name": "lookup_order", "arguments": {"order_id": "42"}, "raw_arguments": ""}
    result = {
        "status": "success",
        "error_type": None,
        "retry_safe": False,
        "message": "",
        "data": {"ok": True},
    }
    add_step(task, 0, tool_calls=[call], tool_results=[result])
    add_step(task, 1)
    Task.objects.filter(pk=task.pk).update(
        status=Task.Status.SUCCEEDED,
        result="Order 42 ships tomorrow.",
        input_tokens=200,
        output_tokens=40,
        cached_input_tokens=60,
        cost_usd=Decimal("0.00082"),
        tool_calls=1,
        finished_at=timezone.now(),
    )

    response = requester_api.get(f"{URL}/{task.id}")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["result"], body["partial"]) == (
        "succeeded",
        "Order 42 ships tomorrow.",
        False,
    )
    assert body["agent"] == "support-bot"
    assert body["usage"] == {
        "input_tokens": 200,
        "output_tokens": 40,
        "cached_input_tokens": 60,
        "cost_usd": "0.000820",
        "tool_calls": 1,
    }
    assert [step["index"] for step in body["steps"]] == [0, 1]
    assert body["steps"][0]["tool_calls"] == [
        {"id": "call_1", "name": "lookup_order", "arguments": {"order_id": "42"}, "result": result}
    ]
    assert body["steps"][0]["cost_usd"] == "0.000410"
    assert body["finished_at"] is not None


def test_a_tool_call_still_running_has_no_result_yet(requester_api, task):
    call = {"id": "call_1", "name": "lookup_order", "arguments": None, "raw_arguments": "{bad json"}
    add_step(task, 0, tool_calls=[call])

    step = requester_api.get(f"{URL}/{task.id}").json()["steps"][0]

    assert step["tool_calls"] == [
        {"id": "call_1", "name": "lookup_order", "arguments": "{bad json", "result": None}
    ]


def test_reading_a_task_costs_the_same_queries_however_many_steps(requester_api, task):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert requester_api.get(f"{URL}/{task.id}").status_code == 200
        return len(captured)

    add_step(task, 0)
    with_one_step = queries()
    for index in range(1, 20):
        add_step(task, index)

    assert queries() == with_one_step


def test_reviewers_and_admins_read_any_task(reviewer_api, admin_api, task):
    assert reviewer_api.get(f"{URL}/{task.id}").status_code == 200
    assert admin_api.get(f"{URL}/{task.id}").status_code == 200


def test_other_users_are_told_the_task_does_not_exist(outsider_api, task):
    theirs = outsider_api.get(f"{URL}/{task.id}")
    missing = outsider_api.get(f"{URL}/{uuid.uuid4()}")

    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"


def test_reading_needs_a_token_and_a_uuid(client, requester_api, task):
    assert client.get(f"{URL}/{task.id}").status_code == 401
    response = requester_api.get(f"{URL}/42")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "task_id"


def cancel(client, task):
    return client.post(f"{URL}/{task.id}/cancel")


def test_the_owner_cancels_a_queued_task(requester_api, task):
    response = cancel(requester_api, task)

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    task.refresh_from_db()
    assert task.status == Task.Status.CANCELLED
    assert task.finished_at is not None


def test_an_admin_may_cancel_any_task(admin_api, task):
    assert cancel(admin_api, task).status_code == 200


def test_a_running_task_is_flagged_to_stop_at_its_next_step(requester_api, task):
    Task.objects.filter(pk=task.pk).update(status=Task.Status.RUNNING)

    response = cancel(requester_api, task)

    assert response.status_code == 200
    task.refresh_from_db()
    assert (task.status, task.cancel_requested) == (Task.Status.RUNNING, True)


def test_a_reviewer_who_is_not_the_owner_may_not_cancel(reviewer_api, task):
    response = cancel(reviewer_api, task)

    assert response.status_code == 403
    task.refresh_from_db()
    assert task.status == Task.Status.QUEUED


def test_other_users_cannot_cancel_or_see_the_task(outsider_api, client, task):
    assert cancel(outsider_api, task).status_code == 404
    assert cancel(client, task).status_code == 401
    task.refresh_from_db()
    assert task.status == Task.Status.QUEUED


def test_cancelling_a_finished_task_is_a_conflict(requester_api, task):
    Task.objects.filter(pk=task.pk).update(status=Task.Status.SUCCEEDED)

    response = cancel(requester_api, task)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    task.refresh_from_db()
    assert task.status == Task.Status.SUCCEEDED

"""GET /api/v1/tasks/{id}/trace: a task's spans, a page at a time."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import Task
from agents.services.catalog import agent_create
from tracing.models import Span, Trace

T0 = timezone.now()


@pytest.fixture
def task(requester_api, admin):
    agent_create(actor=admin, name="support-bot", model="sim/refund")
    response = requester_api.post(
        "/api/v1/tasks", {"agent": "support-bot", "input": "hi"}, content_type="application/json"
    )
    return Task.objects.get(pk=response.json()["id"])


def add_spans(task, count, *, same_start=False):
    trace = Trace.objects.get(task=task)
    Span.objects.bulk_create(
        Span(
            trace=trace,
            span_id=f"{n:016x}",
            parent_span_id="" if n == 0 else f"{0:016x}",
            name=f"chat {n}",
            kind=Span.Kind.MODEL,
            step_index=n,
            started_at=T0 if same_start else T0 + timedelta(milliseconds=count - n),
            ended_at=T0 + timedelta(seconds=1),
            duration_ms=1.0,
            attributes={"gen_ai.request.model": "refund", "gen_ai.usage.input_tokens": n},
            input=[{"role": "user", "content": "hi"}],
            output={"role": "assistant", "content": f"reply {n}"},
        )
        # Inserted in reverse start order, so id order and start order differ.
        for n in range(count)
    )
    return trace


def trace_url(task, **query):
    params = "&".join(f"{key}={value}" for key, value in query.items())
    return f"/api/v1/tasks/{task.id}/trace" + (f"?{params}" if params else "")


def test_the_owner_reads_the_spans_in_start_order(requester_api, task):
    trace = add_spans(task, 3)

    response = requester_api.get(trace_url(task))

    assert response.status_code == 200
    body = response.json()
    assert (body["task"], body["trace_id"], body["next"]) == (str(task.id), trace.trace_id, None)
    assert [span["name"] for span in body["spans"]] == ["chat 2", "chat 1", "chat 0"]
    span = body["spans"][-1]
    assert span["span_id"] == "0000000000000000"
    assert span["kind"] == "model"
    assert span["status"] == "ok"
    assert span["attributes"]["gen_ai.request.model"] == "refund"
    assert span["output"] == {"role": "assistant", "content": "reply 0"}
    assert span["duration_ms"] == 1.0


@pytest.mark.parametrize("same_start", [False, True])
def test_pages_follow_each_other_without_gaps_or_repeats(requester_api, task, same_start):
    add_spans(task, 7, same_start=same_start)
    expected = [s.span_id for s in Span.objects.filter(trace__task=task).order_by("started_at", "id")]

    seen, after, pages = [], None, 0
    while True:
        query = {"limit": 3} | ({"after": after} if after else {})
        body = requester_api.get(trace_url(task, **query)).json()
        seen += [span["span_id"] for span in body["spans"]]
        pages += 1
        after = body["next"]
        if after is None:
            break

    assert seen == expected
    assert pages == 3


def test_a_page_costs_the_same_queries_however_many_spans(requester_api, task):
    def queries(**query):
        with CaptureQueriesContext(connection) as captured:
            assert requester_api.get(trace_url(task, **query)).status_code == 200
        return len(captured)

    add_spans(task, 2)
    small = queries(after=f"{1:016x}")
    Span.objects.filter(trace__task=task).delete()
    add_spans(task, 300)

    assert queries(after=f"{299:016x}", limit=1000) == small


def test_reviewers_and_admins_read_traces_others_do_not(reviewer_api, admin_api, outsider_api, client, task):
    add_spans(task, 1)

    assert reviewer_api.get(trace_url(task)).status_code == 200
    assert admin_api.get(trace_url(task)).status_code == 200
    assert outsider_api.get(trace_url(task)).status_code == 404
    assert client.get(trace_url(task)).status_code == 401
    assert outsider_api.get(f"/api/v1/tasks/{uuid.uuid4()}/trace").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": 10**40}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"after": "not-a-span"}, "after"),
        ({"after": "ffffffffffffffff"}, "after"),
        ({"after": "%00"}, "after"),
    ],
)
def test_bad_paging_parameters_are_rejected(requester_api, task, query, field):
    add_spans(task, 1)

    response = requester_api.get(trace_url(task, **query))

    assert response.status_code in (400, 422), response.content
    assert response.json()["error"]["field"] == field

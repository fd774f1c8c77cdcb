"""The task page's trace waterfall and the rows it appends while a task runs."""

from datetime import timedelta

import pytest
from django.urls import reverse

from agents.models import Task
from agents.services.tasks import task_submit
from tests.factories import make_agent
from tracing.ids import new_span_id
from tracing.models import Span
from tracing.recorder import root_span_id

HOSTILE = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


@pytest.fixture
def task(requester) -> Task:
    make_agent("support-bot", model="sim/refund")
    task, _ = task_submit(owner=requester, agent_name="support-bot", input="Refund order 42")
    return task


def _span(task: Task, name: str, *, offset_ms: int, parent: str | None = None, **fields) -> Span:
    started = task.created_at + timedelta(milliseconds=offset_ms)
    fields.setdefault("kind", Span.Kind.MODEL)
    return Span.objects.create(
        trace=task.trace,
        span_id=fields.pop("span_id", None) or new_span_id(),
        parent_span_id=root_span_id(task.trace.trace_id) if parent is None else parent,
        name=name,
        started_at=started,
        ended_at=started + timedelta(milliseconds=20),
        duration_ms=20,
        **fields,
    )


def test_spans_nest_under_their_parent_and_show_model_tokens_and_cached_tokens(client, requester, task):
    root = _span(
        task,
        "invoke_agent support-bot",
        offset_ms=0,
        parent="",
        kind=Span.Kind.AGENT,
        span_id=root_span_id(task.trace.trace_id),
    )
    model = _span(
        task,
        "chat refund",
        offset_ms=5,
        attributes={
            "gen_ai.response.model": "refund-v2",
            "gen_ai.usage.input_tokens": 120,
            "gen_ai.usage.output_tokens": 30,
            "gen_ai.usage.cache_read.input_tokens": 64,
        },
    )
    _span(task, "inner", offset_ms=6, parent=model.span_id, kind=Span.Kind.TOOL)
    client.force_login(requester)

    response = client.get(reverse("console:task", args=[task.id]))

    depths = {row.view.span.name: row.depth for row in response.context["waterfall"]}
    assert depths == {root.name: 0, "chat refund": 1, "inner": 2}
    html = response.content.decode()
    assert "refund-v2" in html
    assert "120 / 30 / 64" in html
    assert 'class="mono span-name depth-2"' in html


def test_the_decision_chain_shows_the_models_reasoning_beside_the_tools_it_chose(client, requester, task):
    _span(
        task,
        "chat refund",
        offset_ms=0,
        output={
            "role": "assistant",
            "content": "The order is late, so I will refund it.",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "refund", "arguments": "{}"}}
            ],
        },
    )
    client.force_login(requester)

    html = client.get(reverse("console:task", args=[task.id])).content.decode()

    assert (
        '<span class="why">The order is late, so I will refund it.</span> <span class="muted">→ refund</span>'
        in html
    )


def test_guardrail_decisions_and_waits_are_marked(client, requester, task):
    _span(
        task,
        "guardrail token_budget",
        offset_ms=0,
        kind=Span.Kind.GUARDRAIL,
        status=Span.Status.ERROR,
        attributes={
            "tollgate.guardrail.verdict": "halt",
            "tollgate.guardrail.reason": "spent 100% of tokens",
        },
    )
    _span(task, "wait approval", offset_ms=10, kind=Span.Kind.WAIT)
    client.force_login(requester)

    html = client.get(reverse("console:task", args=[task.id])).content.decode()

    assert 'class="span-row kind-guardrail mark-guardrail"' in html
    assert '<div class="decision verdict-halt"><b>halt</b> — spent 100% of tokens</div>' in html
    assert 'class="span-row kind-wait mark-wait"' in html
    assert "waiting for a person" in html


def test_rows_after_a_cursor_are_only_the_later_spans_in_start_order(client, requester, task):
    spans = [_span(task, f"span-{i}", offset_ms=i * 10) for i in range(4)]
    client.force_login(requester)

    response = client.get(reverse("tracing:trace_rows", args=[task.id]), {"after": spans[1].span_id})

    assert [row.view.span.name for row in response.context["waterfall"]] == ["span-2", "span-3"]
    assert response["X-Trace-Next"] == ""
    html = response.content.decode()
    assert "span-1" not in html
    assert html.index('data-span-id="' + spans[2].span_id) < html.index('data-span-id="' + spans[3].span_id)


def test_rows_say_where_to_continue_when_one_fetch_does_not_hold_them_all(
    client, requester, task, monkeypatch
):
    monkeypatch.setattr("tracing.pages.trace.ROWS_PER_FETCH", 2)
    spans = [_span(task, f"span-{i}", offset_ms=i * 10) for i in range(3)]
    client.force_login(requester)

    response = client.get(reverse("tracing:trace_rows", args=[task.id]))

    assert response["X-Trace-Next"] == spans[1].span_id


def test_rows_escape_hostile_names_payloads_and_reasoning(client, requester, task):
    _span(
        task,
        HOSTILE,
        offset_ms=0,
        input={"q": HOSTILE},
        output={"content": HOSTILE},
        attributes={
            "gen_ai.request.model": HOSTILE,
            "tollgate.guardrail.reason": HOSTILE,
        },
    )
    client.force_login(requester)

    html = client.get(reverse("tracing:trace_rows", args=[task.id])).content.decode()

    assert "<img" not in html
    assert html.count(ESCAPED) >= 4


def test_rows_are_only_for_who_may_see_the_task(client, outsider, reviewer, task):
    _span(task, "chat refund", offset_ms=0)
    url = reverse("tracing:trace_rows", args=[task.id])

    assert client.get(url).status_code == 302  # to the login page
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(reviewer)
    assert client.get(url).status_code == 200
    assert client.get(url, {"after": "0123456789abcdef"}).status_code == 400


def test_rows_run_a_constant_number_of_queries(client, requester, task, django_assert_max_num_queries):
    for index in range(60):
        _span(task, f"span-{index}", offset_ms=index)
    client.force_login(requester)

    # Login session and user, the task (with its session and agent), its trace, its spans.
    with django_assert_max_num_queries(5):
        response = client.get(reverse("tracing:trace_rows", args=[task.id]))

    assert len(response.context["waterfall"]) == 60

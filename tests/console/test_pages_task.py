"""The task page: what it shows, who may see it, escaping of hostile content, cancel, queries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from agents.models import Step, Task
from agents.services.tasks import task_submit
from core import clock
from tracing.ids import new_span_id
from tracing.models import Span

HOSTILE = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


@pytest.fixture
def task(requester, agent) -> Task:
    task, _ = task_submit(owner=requester, agent_name=agent.name, input="Refund order 42")
    return task


def _step(task: Task, index: int, *, content: str = "", calls=(), results=()) -> Step:
    return Step.objects.create(
        task=task,
        index=index,
        status=Step.Status.COMPLETED,
        model="sim/refund",
        response={
            "content": content,
            "tool_calls": [
                {"id": f"call_{index}_{n}", "name": name, "arguments": args, "raw_arguments": ""}
                for n, (name, args) in enumerate(calls)
            ],
        },
        tool_results=list(results),
        input_tokens=120,
        output_tokens=30,
        cached_input_tokens=64,
        cost_usd=Decimal("0.000321"),
        model_latency_ms=412.5,
        started_at=clock.now(),
    )


def _span(task: Task, *, name: str = "chat refund", offset_ms: int = 0, **fields) -> Span:
    started = task.created_at + timedelta(milliseconds=offset_ms)
    fields.setdefault("kind", Span.Kind.MODEL)
    return Span.objects.create(
        trace=task.trace,
        span_id=new_span_id(),
        name=name,
        started_at=started,
        ended_at=started + timedelta(milliseconds=25),
        duration_ms=25,
        **fields,
    )


def test_owner_sees_status_input_result_usage_and_stop_reason(client, requester, task):
    Task.objects.filter(pk=task.pk).update(
        status=Task.Status.HALTED,
        result="Refund is on its way",
        partial=True,
        stop_reason="token_budget",
        stop_detail="spent 200000 of 200000 tokens",
        input_tokens=1500,
        output_tokens=250,
        cached_input_tokens=900,
        cost_usd=Decimal("0.012345678901"),
    )
    client.force_login(requester)

    response = client.get(reverse("console:task", args=[task.id]))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="badge status-halted"' in html
    assert "partial result" in html
    for text in ("Refund order 42", "Refund is on its way", "token_budget", "spent 200000 of 200000 tokens"):
        assert text in html
    assert "<b>1500</b>" in html
    assert "<b>250</b>" in html
    assert "<b>900</b>" in html
    # Cost shows micro-dollars, and the exact stored value on hover.
    assert '<b class="mono" title="exactly $0.012345678901">$0.012346</b>' in html


def test_steps_show_model_usage_text_and_tool_calls_with_results(client, requester, task):
    _step(
        task,
        0,
        content="Let me look that order up.",
        calls=[("lookup_order", {"order_id": "42"})],
        results=[{"status": "success", "data": {"order_id": "42", "total": 19.5}, "message": ""}],
    )
    _step(task, 1, content="Refunded.")
    client.force_login(requester)

    response = client.get(reverse("console:task", args=[task.id]))

    html = response.content.decode()
    assert html.index("Step 0") < html.index("Step 1")
    assert "Let me look that order up." in html
    assert "Refunded." in html
    assert "lookup_order" in html
    assert "call_0_0" in html
    assert "&quot;order_id&quot;: &quot;42&quot;" in html
    assert "&quot;total&quot;: 19.5" in html
    assert 'class="badge tool-success"' in html
    assert "412.5 ms" in html
    assert "$0.000321<" in html


def test_spans_table_shows_kind_status_offset_duration_tokens_and_cost(client, requester, task):
    _span(
        task,
        attributes={
            "gen_ai.usage.input_tokens": 120,
            "gen_ai.usage.output_tokens": 30,
            "tollgate.cost_usd": "0.000321",
        },
        input=[{"role": "user", "content": "Refund order 42"}],
        output={"role": "assistant", "content": "ok"},
    )
    _span(task, name="execute_tool lookup_order", kind=Span.Kind.TOOL, offset_ms=40, status=Span.Status.ERROR)
    client.force_login(requester)

    response = client.get(reverse("console:task", args=[task.id]))

    [model, tool] = response.context["spans"]
    assert (model.input_tokens, model.output_tokens, model.cost) == (120, 30, Decimal("0.000321"))
    assert (tool.offset_ms, tool.cost) == (40.0, None)
    html = response.content.decode()
    assert "execute_tool lookup_order" in html
    assert 'class="badge span-error"' in html
    assert "+40.0 ms" in html
    assert "25.0 ms" in html
    assert "<details" in html


def test_hostile_content_everywhere_renders_as_text(client, requester, agent):
    task, _ = task_submit(owner=requester, agent_name=agent.name, input=HOSTILE, end_user=HOSTILE)
    Task.objects.filter(pk=task.pk).update(result=HOSTILE, stop_detail=HOSTILE, stop_reason="halted")
    _step(task, 0, content=HOSTILE, calls=[(HOSTILE, {"q": HOSTILE})], results=[{"status": HOSTILE}])
    _span(task, name=HOSTILE, input={"messages": [{"content": HOSTILE}]}, output=HOSTILE)
    client.force_login(requester)

    for name in ("console:task", "console:task_live"):
        html = client.get(reverse(name, args=[task.id])).content.decode()

        assert HOSTILE not in html
        assert "<img" not in html
        assert html.count(ESCAPED) >= 7


def test_large_payload_is_cut_with_a_link_to_all_of_it(client, requester, task):
    big = "x" * 30_000
    span = _span(task, output={"content": big})
    client.force_login(requester)

    response = client.get(reverse("console:task", args=[task.id]))

    html = response.content.decode()
    assert big not in html
    assert "x" * 9_000 in html
    full_url = reverse("console:span_payload", args=[task.id, span.pk, "output"])
    assert f'href="{full_url}"' in html
    full = client.get(full_url)
    assert full["Content-Type"] == "text/plain; charset=utf-8"
    assert big in full.content.decode()


def test_full_payload_is_served_as_plain_text_only_to_who_may_see_the_task(client, outsider, requester, task):
    span = _span(task, input=HOSTILE)
    url = reverse("console:span_payload", args=[task.id, span.pk, "input"])

    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(requester)
    response = client.get(url)
    assert response.content.decode() == HOSTILE
    assert response["Content-Type"].startswith("text/plain")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert (
        client.get(reverse("console:span_payload", args=[task.id, span.pk, "attributes"])).status_code == 404
    )


def test_outsider_gets_404_and_reviewer_and_admin_see_the_task(client, outsider, reviewer, admin, task):
    url = reverse("console:task", args=[task.id])

    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get(reverse("console:task_live", args=[task.id])).status_code == 404
    for persona in (reviewer, admin):
        client.force_login(persona)
        assert client.get(url).status_code == 200


def test_live_fragment_is_the_task_body_alone(client, requester, task):
    client.force_login(requester)

    response = client.get(reverse("console:task_live", args=[task.id]))

    html = response.content.decode()
    assert 'id="task-body"' in html
    assert 'data-final="false"' in html
    assert "<html" not in html


def test_owner_cancels_a_queued_task(client, requester, task):
    client.force_login(requester)
    assert b"Cancel task" in client.get(reverse("console:task", args=[task.id])).content

    response = client.post(reverse("console:task_cancel", args=[task.id]), follow=True)

    task.refresh_from_db()
    assert task.status == Task.Status.CANCELLED
    assert task.stop_detail == "cancelled by requester"
    html = response.content.decode()
    assert "Task cancelled." in html
    assert "Cancel task" not in html


def test_cancelling_a_running_task_flags_it_for_the_next_step_boundary(client, admin, task):
    Task.objects.filter(pk=task.pk).update(status=Task.Status.RUNNING)
    client.force_login(admin)

    response = client.post(reverse("console:task_cancel", args=[task.id]), follow=True)

    task.refresh_from_db()
    assert (task.status, task.cancel_requested) == (Task.Status.RUNNING, True)
    assert "stops at its next step boundary" in response.content.decode()


def test_reviewer_may_read_but_not_cancel_and_outsider_gets_404(client, reviewer, outsider, task):
    url = reverse("console:task_cancel", args=[task.id])

    client.force_login(reviewer)
    assert b"Cancel task" not in client.get(reverse("console:task", args=[task.id])).content
    assert client.post(url).status_code == 403
    client.force_login(outsider)
    assert client.post(url).status_code == 404

    task.refresh_from_db()
    assert task.status == Task.Status.QUEUED


def test_cancelling_a_finished_task_says_so_and_changes_nothing(client, requester, task):
    Task.objects.filter(pk=task.pk).update(status=Task.Status.SUCCEEDED, result="done")
    client.force_login(requester)

    response = client.post(reverse("console:task_cancel", args=[task.id]), follow=True)

    task.refresh_from_db()
    assert task.status == Task.Status.SUCCEEDED
    assert "has already ended (succeeded)" in response.content.decode()


def test_cancel_needs_post_and_a_csrf_token(requester, task):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(requester)
    url = reverse("console:task_cancel", args=[task.id])

    assert strict.get(url).status_code == 405
    assert strict.post(url).status_code == 403
    task.refresh_from_db()
    assert task.status == Task.Status.QUEUED


def test_task_page_runs_a_constant_number_of_queries(client, requester, task, django_assert_max_num_queries):
    for index in range(40):
        _step(task, index, content=f"step {index}", calls=[("lookup_order", {"order_id": str(index)})])
        _span(task, offset_ms=index * 30, attributes={"gen_ai.usage.input_tokens": index})
        _span(task, name="execute_tool lookup_order", kind=Span.Kind.TOOL, offset_ms=index * 30 + 10)
    client.force_login(requester)

    # Login session and user, the task with its session and agent, its owner, steps, trace, spans.
    with django_assert_max_num_queries(7):
        response = client.get(reverse("console:task", args=[task.id]))

    assert len(response.context["spans"]) == 80


def test_a_long_trace_continues_on_the_next_page(client, requester, task, monkeypatch):
    monkeypatch.setattr("console.pages.tasks.SPANS_PER_PAGE", 3)
    spans = [_span(task, name=f"span-{i}", offset_ms=i * 10) for i in range(5)]
    client.force_login(requester)

    first = client.get(reverse("console:task", args=[task.id]))
    after = first.context["spans_next"]
    second = client.get(reverse("console:task", args=[task.id]), {"after": after})

    assert [view.span.name for view in first.context["spans"]] == ["span-0", "span-1", "span-2"]
    assert f"?after={spans[2].span_id}" in first.content.decode()
    assert [view.span.name for view in second.context["spans"]] == ["span-3", "span-4"]
    # Offsets stay measured from the task's start, not from the page's first span.
    assert second.context["spans"][0].offset_ms == 30.0
    assert client.get(reverse("console:task", args=[task.id]), {"after": "bogus"}).status_code == 200


def test_unparsable_tool_arguments_are_shown_raw(client, requester, task):
    Step.objects.create(
        task=task,
        index=0,
        model="sim/refund",
        response={
            "content": "",
            "tool_calls": [
                {"id": "c1", "name": "lookup_order", "arguments": None, "raw_arguments": '{"order_id": 4'}
            ],
        },
        started_at=clock.now(),
    )
    client.force_login(requester)

    response = client.get(reverse("console:task", args=[task.id]))

    [view] = response.context["steps"]
    assert view.tool_calls[0].arguments.text == '{"order_id": 4'
    assert view.tool_calls[0].result is None
    assert "running…" in response.content.decode()


def test_live_fragment_reads_no_spans_and_runs_a_constant_number_of_queries(
    client, requester, task, django_assert_max_num_queries
):
    for index in range(40):
        _step(task, index, content=f"step {index}", calls=[("lookup_order", {"order_id": str(index)})])
        _span(task, offset_ms=index * 30)
    client.force_login(requester)

    # Login session and user, the task with its session and agent, its owner, steps: no spans,
    # which grow on the page row by row instead of being rendered again on every refresh.
    with django_assert_max_num_queries(5) as captured:
        response = client.get(reverse("console:task_live", args=[task.id]))

    assert not any("tracing_span" in query["sql"] for query in captured.captured_queries)
    assert 'id="waterfall"' not in response.content.decode()
    assert response.content.decode().count('class="step"') == 40

"""SpanBuffer.flush: one statement writes a step's spans exactly as they were recorded."""

from datetime import UTC, datetime, timedelta

import pytest

from agents.services.tasks import task_submit
from tests.factories import make_agent
from tracing.models import Span
from tracing.recorder import SpanBuffer


@pytest.fixture
def trace(requester):
    make_agent("support-bot", model="sim/refund")
    task, _ = task_submit(owner=requester, agent_name="support-bot", input="go")
    return task.trace


def test_flush_writes_every_field_with_microsecond_timestamps_in_one_query(trace, django_assert_num_queries):
    started = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    buffer = SpanBuffer(trace_pk=trace.pk, parent_span_id="aaaaaaaaaaaaaaaa")
    buffer.add(
        name="chat refund",
        kind="model",
        step_index=3,
        started_at=started,
        ended_at=started + timedelta(microseconds=1500),
        attributes={"gen_ai.usage.input_tokens": 12, "tollgate.cost_usd": "0.000001234567", "list": [1, "x"]},
        input=[{"role": "user", "content": "ünïcode \" ' \\ <b>"}],
        output="plain text",
        span_id="bbbbbbbbbbbbbbbb",
    )
    buffer.add(
        name="guardrail", kind="guardrail", started_at=started, ended_at=started, attributes={}, error=True
    )

    with django_assert_num_queries(1):
        buffer.flush()

    assert buffer.spans == []
    model, guard = Span.objects.filter(trace=trace).order_by("id")
    assert (model.span_id, model.parent_span_id, model.name, model.kind) == (
        "bbbbbbbbbbbbbbbb",
        "aaaaaaaaaaaaaaaa",
        "chat refund",
        "model",
    )
    assert (model.step_index, model.status, model.started_at, model.duration_ms) == (3, "ok", started, 1.5)
    assert model.ended_at == started + timedelta(microseconds=1500)
    assert model.attributes == {
        "gen_ai.usage.input_tokens": 12,
        "tollgate.cost_usd": "0.000001234567",
        "list": [1, "x"],
    }
    assert model.input == [{"role": "user", "content": "ünïcode \" ' \\ <b>"}]
    assert model.output == "plain text"
    assert (guard.step_index, guard.status, guard.input, guard.output) == (None, "error", None, None)


def test_flushing_nothing_runs_no_query(trace, django_assert_num_queries):
    with django_assert_num_queries(0):
        SpanBuffer(trace_pk=trace.pk, parent_span_id="").flush()

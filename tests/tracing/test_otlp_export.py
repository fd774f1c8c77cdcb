"""OTLP/HTTP export: a local receiver decodes what arrives, with the stored ids, times and names."""

import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from unittest import mock

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agents.models import Task
from agents.runtime.loop import task_steps_run
from agents.services.tasks import task_submit
from tests.factories import make_agent, make_http_tool
from tests.support.http import serving
from tests.support.processes import free_port
from tracing.export.otlp import trace_export
from tracing.models import Span

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def collector() -> Iterator[tuple[str, list[ExportTraceServiceRequest]]]:
    received: list[ExportTraceServiceRequest] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            assert self.path == "/v1/traces"
            assert self.headers["Content-Type"] == "application/x-protobuf"
            request = ExportTraceServiceRequest()
            request.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(request)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()
            self.wfile.write(b"")

        def log_message(self, *args) -> None:
            pass

    with serving(Handler) as url:
        yield url, received


@pytest.fixture
def finished_task(requester, use_simulator, tool_server) -> Task:
    url, _ = tool_server
    make_agent(
        "chainer", model="sim/chain?calls=1&tool=refund_tool", tools=[make_http_tool("refund_tool", url)]
    )
    task, _ = task_submit(owner=requester, agent_name="chainer", input="go", end_user="customer-7")
    task_steps_run(task_id=task.id, max_steps=50, max_seconds=60)
    task.refresh_from_db()
    assert task.status == Task.Status.SUCCEEDED
    return task


def _attributes(span) -> dict:
    values = {}
    for item in span.attributes:
        kind = item.value.WhichOneof("value")
        value = getattr(item.value, kind)
        values[item.key] = list(v.string_value for v in value.values) if kind == "array_value" else value
    return values


def test_a_finished_trace_arrives_with_its_ids_times_names_and_genai_attributes(
    settings, collector, finished_task
):
    url, received = collector
    settings.OTEL_EXPORTER_OTLP_ENDPOINT = url

    assert trace_export(task_id=finished_task.id) == 4

    exported = [
        span
        for request in received
        for rs in request.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]
    resource = {a.key: a.value.string_value for a in received[0].resource_spans[0].resource.attributes}
    assert resource["service.name"] == "tollgate"
    stored = {span.span_id: span for span in Span.objects.filter(trace=finished_task.trace)}
    assert {span.span_id.hex() for span in exported} == set(stored)
    assert sorted(span.name for span in exported) == sorted(row.name for row in stored.values())
    assert sorted(row.name.split()[0] for row in stored.values()) == [
        "chat",
        "chat",
        "execute_tool",
        "invoke_agent",
    ]
    session = str(finished_task.session_id)
    for span in exported:
        row = stored[span.span_id.hex()]
        assert span.trace_id.hex() == finished_task.trace.trace_id
        assert span.parent_span_id.hex() == row.parent_span_id
        assert (
            span.start_time_unix_nano
            == int(row.started_at.timestamp()) * 10**9 + row.started_at.microsecond * 1000
        )
        attributes = _attributes(span)
        assert attributes["gen_ai.conversation.id"] == session
        assert attributes["session.id"] == session
        assert attributes["user.id"] == "customer-7"
    [root] = [span for span in exported if span.name == "invoke_agent chainer"]
    assert _attributes(root)["gen_ai.operation.name"] == "invoke_agent"
    [chat, _] = [span for span in exported if span.name.startswith("chat ")]
    chat_attributes = _attributes(chat)
    assert chat_attributes["gen_ai.operation.name"] == "chat"
    assert chat_attributes["gen_ai.usage.input_tokens"] > 0
    assert "gen_ai.input.messages" in chat_attributes
    [tool] = [span for span in exported if span.name.startswith("execute_tool")]
    assert _attributes(tool)["gen_ai.tool.name"] == "refund_tool"


def test_an_unreachable_collector_neither_raises_nor_hangs_past_its_timeout(settings, finished_task):
    settings.OTEL_EXPORTER_OTLP_ENDPOINT = f"http://127.0.0.1:{free_port()}"
    settings.OTEL_EXPORT_TIMEOUT_S = 1.0

    began = time.monotonic()
    assert trace_export(task_id=finished_task.id) == 4
    assert time.monotonic() - began < 30


def test_export_is_enqueued_when_a_task_ends_only_if_a_collector_is_set(settings, requester, use_simulator):
    make_agent("echoer", model="sim/echo")
    with mock.patch("tracing.tasks.trace_export.delay") as enqueue:
        settings.OTEL_EXPORTER_OTLP_ENDPOINT = ""
        first, _ = task_submit(owner=requester, agent_name="echoer", input="one")
        task_steps_run(task_id=first.id, max_steps=5, max_seconds=30)
        assert enqueue.call_count == 0

        settings.OTEL_EXPORTER_OTLP_ENDPOINT = "http://127.0.0.1:4318"
        second, _ = task_submit(owner=requester, agent_name="echoer", input="two")
        task_steps_run(task_id=second.id, max_steps=5, max_seconds=30)
        enqueue.assert_called_once_with(str(second.id))

"""HTTP tools against a real HTTP server on a free local port."""

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from agents.models import Tool
from agents.tools.executor import tool_call_execute, tool_call_idempotency_key
from agents.tools.http import MAX_ERROR_CHARS, MAX_RESPONSE_BYTES
from core.http_headers import retry_after_seconds


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class ToolServer:
    """A stand-in for a tool's service: answers by path and counts every request it received."""

    url: str
    received: list[Received] = field(default_factory=list)

    def tool(self, path: str, *, method: str = "POST", timeout_s: float = 5.0, **fields: Any) -> Tool:
        fields.setdefault("parameters", {"type": "object"})
        return Tool(
            name=f"tool_{path.strip('/').replace('-', '_') or 'root'}",
            url=self.url + path,
            method=method,
            timeout_s=timeout_s,
            kind=Tool.Kind.HTTP,
            **fields,
        )


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def do_GET(self) -> None:
        self._answer()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output clean

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        self.server.received.append(
            Received(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers=dict(self.headers.items()),
                body=json.loads(raw) if raw else None,
            )
        )
        route = parts.path
        if route == "/ok":
            self._json(200, {"echo": self.server.received[-1].body, "method": self.command})
        elif route == "/list":
            self._json(201, [{"id": 3, "name": "c"}, {"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
        elif route == "/text":
            self._send(200, b"plain words", "text/plain; charset=utf-8")
        elif route == "/empty":
            self._send(204, b"", "")
        elif route == "/rate":
            self._json(429, {"error": "slow down"}, {"Retry-After": "7"})
        elif route == "/boom":
            self._json(500, {"error": {"message": "database on fire"}})
        elif route == "/unavailable":
            self._send(503, b"<html>upstream gone</html>", "text/html", {"Retry-After": "2"})
        elif route == "/missing":
            self._json(404, {"detail": "no order 42"})
        elif route == "/bad":
            self._json(400, {"message": "x" * 5000})
        elif route == "/moved":
            self._send(301, b"", "", {"Location": "https://elsewhere.example/tool"})
        elif route == "/slow":
            time.sleep(2)
            self._json(200, {"late": True})
        elif route == "/trickle":
            # Every byte arrives well within a read timeout, the whole body never does.
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "40")
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.05)
        elif route == "/huge":
            self._send(200, b"[" + b"1," * (MAX_RESPONSE_BYTES // 2) + b"1]", "application/json")
        else:
            self._json(404, {"error": "no such route"})

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), "application/json", headers)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    received: list[Received]


@pytest.fixture
def tool_server() -> Iterator[ToolServer]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield ToolServer(url=f"http://127.0.0.1:{server.server_address[1]}", received=server.received)
    finally:
        server.shutdown()
        server.server_close()


def call(tool: Tool, arguments: dict[str, Any] | None = None, key: str = "key-1") -> Any:
    return tool_call_execute(tool=tool, arguments=arguments or {}, idempotency_key=key)


def test_2xx_is_success_with_the_parsed_json(tool_server):
    result = call(tool_server.tool("/ok"), {"order": 42})

    assert result.status == "success"
    assert result.data == {"echo": {"order": 42}, "method": "POST"}
    assert result.error_type is None


def test_post_put_patch_send_a_json_body_and_get_delete_send_query_params(tool_server):
    for method in ("POST", "PUT", "PATCH"):
        call(tool_server.tool("/ok", method=method), {"q": "shoes", "n": 3})
    for method in ("GET", "DELETE"):
        call(
            tool_server.tool("/ok", method=method), {"q": "shoes", "n": 3, "tags": ["a", "b"], "f": {"x": 1}}
        )

    body_calls, query_calls = tool_server.received[:3], tool_server.received[3:]
    assert [(r.method, r.body, r.query) for r in body_calls] == [
        (m, {"q": "shoes", "n": 3}, {}) for m in ("POST", "PUT", "PATCH")
    ]
    assert [(r.method, r.body) for r in query_calls] == [("GET", None), ("DELETE", None)]
    assert query_calls[0].query == {"q": ["shoes"], "n": ["3"], "tags": ["a", "b"], "f": ['{"x":1}']}


def test_2xx_without_json_gives_text_or_nothing(tool_server):
    assert call(tool_server.tool("/text")).data == "plain words"
    empty = call(tool_server.tool("/empty"))
    assert (empty.status, empty.data) == ("success", None)


def test_429_is_a_retry_safe_rate_limit_with_retry_after(tool_server):
    result = call(tool_server.tool("/rate", honours_idempotency_key=True))

    assert (result.status, result.error_type, result.retry_safe) == ("error", "rate_limit", True)
    assert result.retry_after_s == 7
    assert "slow down" in result.message


@pytest.mark.parametrize(
    ("path", "detail"), [("/boom", "database on fire"), ("/unavailable", "upstream gone")]
)
def test_5xx_is_transient_and_retry_safe_with_the_body_s_message(tool_server, path, detail):
    result = call(tool_server.tool(path, method="POST", honours_idempotency_key=True))

    assert (result.status, result.error_type, result.retry_safe) == ("error", "transient", True)
    assert detail in result.message


@pytest.mark.parametrize(
    ("method", "honours", "retry_safe"),
    [
        ("POST", False, False),
        ("PATCH", False, False),
        ("POST", True, True),
        ("PATCH", True, True),
        ("GET", False, True),
        ("PUT", False, True),
        ("DELETE", False, True),
    ],
)
@pytest.mark.parametrize("path", ["/boom", "/rate"])
def test_only_an_idempotent_method_or_a_tool_that_honours_keys_is_retry_safe(
    tool_server, path, method, honours, retry_safe
):
    # Every call carries an Idempotency-Key; only a tool that deduplicates by it may see one twice.
    result = call(tool_server.tool(path, method=method, honours_idempotency_key=honours))

    assert result.status == "error"
    assert result.retry_safe is retry_safe


def test_503_passes_on_its_retry_after(tool_server):
    assert call(tool_server.tool("/unavailable")).retry_after_s == 2


def test_other_4xx_is_permanent_and_not_retry_safe(tool_server):
    missing = call(tool_server.tool("/missing", method="GET"))
    bad = call(tool_server.tool("/bad"))

    assert (missing.error_type, missing.retry_safe) == ("permanent", False)
    assert "HTTP 404" in missing.message
    assert "no order 42" in missing.message
    assert (bad.error_type, bad.retry_safe) == ("permanent", False)
    assert "HTTP 400" in bad.message
    assert len(bad.message) < MAX_ERROR_CHARS + 100, "a long error body is truncated"


def test_a_redirect_is_not_followed_and_is_permanent(tool_server):
    result = call(tool_server.tool("/moved"))

    assert result.error_type == "permanent"
    assert "https://elsewhere.example/tool" in result.message
    assert [r.path for r in tool_server.received] == ["/moved"]


def test_a_slow_tool_times_out_as_transient_at_its_timeout(tool_server):
    started = time.monotonic()
    result = call(tool_server.tool("/slow", timeout_s=0.3, honours_idempotency_key=True))

    assert (result.status, result.error_type, result.retry_safe) == ("error", "transient", True)
    assert "0.3s" in result.message
    assert time.monotonic() - started < 1.5, "the call gave up long before the server answered (2 s)"


def test_a_trickling_response_cannot_outlast_the_timeout(tool_server):
    started = time.monotonic()
    result = call(tool_server.tool("/trickle", timeout_s=0.5))

    assert result.error_type == "transient"
    assert time.monotonic() - started < 1.5, "the body takes 2 s to arrive; the deadline is 0.5 s"


def test_an_unreachable_tool_is_transient():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the call: nothing listens there
    tool = Tool(
        name="gone",
        url=f"http://127.0.0.1:{port}/x",
        method="POST",
        parameters={},
        honours_idempotency_key=True,
    )

    result = call(tool)

    assert (result.error_type, result.retry_safe) == ("transient", True)
    assert "ConnectError" in result.message


def test_a_tool_without_a_usable_url_is_permanent():
    result = call(Tool(name="nourl", url="", method="POST", parameters={}))

    assert (result.status, result.error_type) == ("error", "permanent")
    assert "URL" in result.message


def test_a_response_too_large_for_the_model_is_refused(tool_server):
    result = call(tool_server.tool("/huge"))

    assert result.error_type == "permanent"
    assert str(MAX_RESPONSE_BYTES) in result.message


def test_the_idempotency_key_is_sent_and_stable_for_the_same_task_step_and_call(tool_server):
    tool = tool_server.tool("/ok")
    task_id = "6f1c1b0e-8a51-4d3c-9a7e-1f2b3c4d5e6f"

    first = tool_call_idempotency_key(task_id=task_id, step_index=4, call_index=1)
    call(tool, key=first)
    # A redelivered step computes the key again from the same (task, step, call).
    call(tool, key=tool_call_idempotency_key(task_id=task_id, step_index=4, call_index=1))
    call(tool, key=tool_call_idempotency_key(task_id=task_id, step_index=4, call_index=2))

    keys = [r.headers["Idempotency-Key"] for r in tool_server.received]
    assert keys[0] == keys[1] == first
    assert keys[2] != first


def test_retry_after_accepts_seconds_and_http_dates(time_machine):
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    time_machine.move_to(now, tick=False)

    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True)) == 30
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=30), usegmt=True)) == 0
    assert retry_after_seconds("-5") == 0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("inf") is None
    assert retry_after_seconds(None) is None

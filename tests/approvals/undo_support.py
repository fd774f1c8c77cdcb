"""Support for the undo tests: a tool server that records refunds and their reversals."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

from agents.models import Tool
from tests.factories import make_http_tool
from tests.support.http import serving


@contextmanager
def recording_tool_server() -> Iterator[tuple[str, "Recorder"]]:
    """Serve a Recorder on a free loopback port: POST /refund and POST /reverse."""
    state = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            status, answer = state.answer(self.path, body, self.headers.get("Idempotency-Key", ""))
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url, state


class Recorder:
    """Refunds and their reversals, each applied once per Idempotency-Key, every request kept."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any], str]] = []  # (path, body, key)
        self.by_key: dict[tuple[str, str], dict[str, Any]] = {}
        self.refunds = 0
        self.fail_reversals = False
        self.lock = threading.Lock()

    def answer(self, path: str, body: dict[str, Any], key: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append((path, body, key))
            if (path, key) in self.by_key:
                return 200, self.by_key[(path, key)]
            if path == "/reverse" and self.fail_reversals:
                return 409, {"error": "the payment processor refused the reversal"}
            if path == "/refund":
                self.refunds += 1
                answer = {"refund_id": f"re_{self.refunds}", "amount": body.get("i")}
            else:
                answer = {"reversed": body.get("refund_id")}
            self.by_key[(path, key)] = answer
            return 200, answer

    def reversals(self) -> list[str]:
        return [body["refund_id"] for path, body, _ in self.requests if path == "/reverse"]


def refund_tools(
    url: str, *, refund_tier: str = "low", reverse_tier: str = "high", email_tier: str = "high"
) -> dict[str, Tool]:
    """issue_refund (undone by reverse_refund, with the refund id from its result and the amount
    from its arguments), reverse_refund, and send_email, which nothing undoes."""
    reverse = Tool.objects.create(
        name="reverse_refund",
        url=f"{url}/reverse",
        parameters={
            "type": "object",
            "properties": {"refund_id": {"type": "string"}, "amount": {"type": ["string", "integer"]}},
            "required": ["refund_id"],
        },
        risk_tier=reverse_tier,
        trust="trusted",
        honours_idempotency_key=True,
    )
    refund = make_http_tool(
        "issue_refund",
        f"{url}/refund",
        risk_tier=refund_tier,
        honours_idempotency_key=True,
        compensation=reverse,
        compensation_arguments={"refund_id": "result.data.refund_id", "amount": "args.i"},
    )
    email = make_http_tool("send_email", f"{url}/email", risk_tier=email_tier, honours_idempotency_key=True)
    return {"issue_refund": refund, "reverse_refund": reverse, "send_email": email}

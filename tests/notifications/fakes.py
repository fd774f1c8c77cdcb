"""Local stand-ins for Slack's Web API and PagerDuty's Events API v2, served over real HTTP."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.support.http import serving


@dataclass
class FakeState:
    """What the fake received, and what it should answer next."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Status codes to answer the next requests with, before answering normally.
    failures: list[int] = field(default_factory=list)
    retry_after_s: int = 1
    emails: dict[str, str] = field(default_factory=dict)  # Slack user id -> confirmed e-mail
    errors: dict[str, str] = field(default_factory=dict)  # method -> Slack's `error` to answer
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: int = 0

    def named(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [params for name, params in self.calls if name == method]


def _handler(state: FakeState, answer: Any) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if "json" in (self.headers.get("Content-Type") or ""):
                params = json.loads(raw or b"{}")
            else:
                params = dict(parse_qsl(raw.decode() or parts.query))
            method = parts.path.rsplit("/", 1)[-1]
            with state.lock:
                failure = state.failures.pop(0) if state.failures else None
                state.calls.append((method, params))
                state.counter += 1
                number = state.counter
            if failure is not None:
                self.send_response(failure)
                if failure == 429:
                    self.send_header("Retry-After", str(state.retry_after_s))
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": false, "error": "ratelimited"}')
                return
            status, body = answer(method, params, number)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())

        do_GET = _serve
        do_POST = _serve

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def _slack_answer(state: FakeState) -> Any:
    def answer(method: str, params: dict[str, Any], number: int) -> tuple[int, dict[str, Any]]:
        if method in state.errors:
            return 200, {"ok": False, "error": state.errors[method]}
        if method in ("chat.postMessage", "chat.update"):
            return 200, {
                "ok": True,
                "channel": params.get("channel"),
                "ts": params.get("ts") or f"1700000000.{number:06d}",
            }
        if method == "users.info":
            email = state.emails.get(str(params.get("user")))
            profile = {"email": email} if email else {}
            return 200, {
                "ok": True,
                "user": {"id": params.get("user"), "is_email_confirmed": bool(email), "profile": profile},
            }
        return 200, {"ok": True}

    return answer


@contextmanager
def fake_slack() -> Iterator[tuple[str, FakeState]]:
    """Slack's Web API at `<url>/api/<method>`."""
    state = FakeState()
    with serving(_handler(state, _slack_answer(state))) as url:
        yield f"{url}/api/", state


@contextmanager
def fake_pagerduty() -> Iterator[tuple[str, FakeState]]:
    """PagerDuty's Events API v2 at `<url>/v2/enqueue`."""
    state = FakeState()

    def answer(method: str, params: dict[str, Any], number: int) -> tuple[int, dict[str, Any]]:
        return 202, {"status": "success", "message": "Event processed", "dedup_key": params.get("dedup_key")}

    with serving(_handler(state, answer)) as url:
        yield f"{url}/v2/enqueue", state

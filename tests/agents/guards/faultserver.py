"""A local HTTP tool that fails on purpose, counting every request it receives."""

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.http import serving

# (request number from 1) -> (status, headers)
Answer = Callable[[int], tuple[int, dict[str, str]]]


@dataclass
class FaultState:
    answer: Answer
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def always(status: int, **headers: str) -> Answer:
    return lambda n: (status, headers)


def every_other_fails(status: int = 503) -> Answer:
    """Requests 1, 3, 5, ... fail: a 50% fault rate."""
    return lambda n: (status, {}) if n % 2 else (200, {})


def first_fails(status: int, count: int = 1, **headers: str) -> Answer:
    return lambda n: (status, headers) if n <= count else (200, {})


@contextmanager
def running_fault_server(answer: Answer, *, pad: int = 0) -> Iterator[tuple[str, FaultState]]:
    """`pad`: characters of filler in every successful answer (a tool with big results)."""
    state = FaultState(answer=answer)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.requests += 1
                number = state.requests
            status, headers = state.answer(number)
            body: dict[str, Any] = {"ok": True, "request": number, "filler": "lorem ipsum " * (pad // 12)}
            if status >= 400:
                body = {"error": f"status {status}"}
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as url:
        yield url, state

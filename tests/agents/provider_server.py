"""A real HTTP server in a thread that plays canned provider responses and records requests."""

import json
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.http import serving


@dataclass
class Canned:
    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any
    client_port: int


class ProviderServer:
    def __init__(self) -> None:
        self.answers: deque[Canned] = deque()
        self.requests: list[Recorded] = []
        self.url = ""

    def answer(self, *canned: Canned) -> None:
        self.answers.extend(canned)


@contextmanager
def provider_server() -> Iterator[ProviderServer]:
    state = ProviderServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real providers do

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            raw = self.rfile.read(length)
            state.requests.append(
                Recorded(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw),
                    client_port=self.client_address[1],
                )
            )
            canned = state.answers.popleft()
            if canned.delay_s:
                time.sleep(canned.delay_s)
            payload = canned.body if isinstance(canned.body, str) else json.dumps(canned.body)
            data = payload.encode()
            self.send_response(canned.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in canned.headers.items():
                self.send_header(name, value)
            self.end_headers()
            # The client may have given up waiting (the timeout tests).
            with suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as url:
        state.url = url
        yield state

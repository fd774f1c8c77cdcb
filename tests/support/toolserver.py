"""A local HTTP tool with a real side effect, deduplicated by Idempotency-Key like a payments API
(or, with deduplicate=False, like a tool that ignores the header: every request has its effect)."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.http import serving


@dataclass
class ToolServerState:
    requests: int = 0
    effects: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key → result
    keys_seen: list[str] = field(default_factory=list)
    # Seconds to hold the first request with a new key after applying its effect (to crash a worker mid-call).
    hold_first_s: float = 0.0
    deduplicate: bool = True
    received: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def side_effects(self) -> int:
        return len(self.effects)


def _handler(state: ToolServerState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            key = self.headers.get("Idempotency-Key", "")
            with state.lock:
                state.requests += 1
                state.keys_seen.append(key)
                if not state.deduplicate:
                    key = f"request-{state.requests}"
                first = key not in state.effects
                if first:
                    state.effects[key] = {
                        "refund_id": f"r{len(state.effects) + 1}",
                        "amount": body.get("amount"),
                    }
                result = state.effects[key]
            state.received.set()
            if first and state.hold_first_s:
                time.sleep(state.hold_first_s)
            payload = json.dumps(result).encode()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the caller was killed while the request was held

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_tool_server(**state_kwargs: Any) -> Iterator[tuple[str, ToolServerState]]:
    state = ToolServerState(**state_kwargs)
    with serving(_handler(state)) as url:
        yield url, state

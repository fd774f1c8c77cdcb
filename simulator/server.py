"""The simulator's HTTP face: a bare ASGI app, served by uvicorn.

No framework sits in between: a benchmark drives this at hundreds of requests per second
and measures the platform's overhead against it, so the simulator itself must add ~0 ms.

    GET  /health                  liveness, with the scenario count
    GET  /v1/models               the loaded scenarios, as OpenAI models
    POST /v1/chat/completions     play the scenario named by `model`
    POST /v1/embeddings           deterministic word-hash embeddings (simulator/embeddings.py)
    POST /tools/<name>            the demo tools (lookup_order, issue_refund, reverse_refund,
                                  search_web, check_inventory)
    GET  /tools/stats             calls per demo tool, the number of distinct refunds and reversals
"""

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from simulator.demo_tools import DemoTools
from simulator.embeddings import embeddings_answer
from simulator.play import Answer, Player, openai_error
from simulator.scenarios import Scenario

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON_HEADERS = [(b"content-type", b"application/json")]


class SimulatorApp:
    def __init__(self, *, scenarios: dict[str, Scenario]) -> None:
        self.player = Player(scenarios)
        self.tools = DemoTools()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # served with lifespan off; nothing else reaches here
        answer = await self._route(scope, receive)
        if answer.latency_ms > 0:
            await asyncio.sleep(answer.latency_ms / 1000)
        body = json.dumps(answer.body).encode()
        headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
        headers.extend((name.encode(), value.encode()) for name, value in answer.headers)
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _route(self, scope: Scope, receive: Receive) -> Answer:
        method, path = scope["method"], scope["path"]
        if method == "POST" and path == "/v1/chat/completions":
            request = await _json_body(receive)
            if not isinstance(request, dict):
                return Answer(400, openai_error("the body must be a JSON object", code="invalid_json"))
            return self.player.answer(request)
        if method == "POST" and path == "/v1/embeddings":
            return embeddings_answer(await _json_body(receive))
        if method == "POST" and path.startswith("/tools/"):
            body = await _json_body(receive)
            key = _header(scope, b"idempotency-key")
            result = self.tools.call(path.removeprefix("/tools/"), body, idempotency_key=key)
            return Answer(result.status, result.body)
        if method == "GET" and path == "/health":
            return Answer(200, {"status": "ok", "scenarios": len(self.player.scenarios)})
        if method == "GET" and path == "/v1/models":
            models = [
                {"id": name, "object": "model", "owned_by": "simulator"} for name in self.player.scenarios
            ]
            return Answer(200, {"object": "list", "data": models})
        if method == "GET" and path == "/tools/stats":
            return Answer(200, self.tools.stats())
        return Answer(404, openai_error(f"no route {method} {path}", code="not_found"))


async def _json_body(receive: Receive) -> Any:
    """The decoded JSON body, or None when it is empty or not JSON."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    try:
        return json.loads(b"".join(chunks))
    except ValueError:
        return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None

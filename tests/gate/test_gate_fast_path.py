"""The gate API's ask under the ASGI app (console/gate_fast_path.py): answered past Django's ASGI
handler, yet byte for byte what the Django route answers, each refusal included; what it does
not read goes to Django.

Each case is asked of the served app (console.asgi.application) and of Django's own ASGI handler
behind it, in this process; the fast path runs on the API's threads, with their own database
connections, so these tests commit (transaction=True).
"""

import asyncio
import json
from typing import Any

import pytest

from approvals.models import ExternalAction
from console.api_threads import ThreadedApiASGIHandler
from console.asgi import body_limited, django_asgi_app
from console.gate_fast_path import GateFastPath
from console.models import ApiToken
from console.tokens import api_token_create
from tests.support.asgi import http_scope

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("tiers")]

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class CountingDjango:
    """Django's ASGI app, counting the requests handed to it."""

    def __init__(self, app: ThreadedApiASGIHandler) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.requests += 1
        await self.app(scope, receive, send)

    async def send_response(self, response: Any, send: Any) -> None:
        await self.app.send_response(response, send)


def call(
    app: Any,
    body: bytes,
    *,
    token: str | None,
    method: str = "POST",
    path: str = "/api/v1/actions",
    query: bytes = b"",
    host: bytes = b"localhost",
    content_type: bytes = b"application/json",
    chunk: int | None = None,
) -> Answer:
    """One HTTP request through an ASGI app: (status, headers, body)."""
    headers = [(b"host", host), (b"content-type", content_type)]
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = http_scope(path, headers=headers, method=method, query=query)
    step = chunk or max(len(body), 1)
    parts = [body[i : i + step] for i in range(0, len(body), step)] or [b""]
    last = len(parts) - 1
    messages = [{"type": "http.request", "body": part, "more_body": i < last} for i, part in enumerate(parts)]

    async def run() -> Answer:
        answered = asyncio.Event()
        start: dict[str, Any] = {}
        content: list[bytes] = []

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await answered.wait()  # Django listens for a disconnect while it answers
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                content.append(message.get("body", b""))
                if not message.get("more_body", False):
                    answered.set()

        await asyncio.wait_for(app(scope, receive, send), timeout=30)
        return start["status"], list(start["headers"]), b"".join(content)

    return asyncio.run(run())


@pytest.fixture
def token(requester) -> str:
    raw, _ = api_token_create(user=requester, name="fast")
    return raw


@pytest.fixture
def django() -> CountingDjango:
    return CountingDjango(django_asgi_app)


@pytest.fixture
def fast(django) -> GateFastPath:
    return GateFastPath(django)  # type: ignore[arg-type]


def ask_body(**fields: Any) -> bytes:
    body = {"agent": "outside", "session": "conv-1", "tool": "refund", "arguments": {"amount": 5}, **fields}
    return json.dumps(body).encode()


def same_answer(fast: GateFastPath, django: CountingDjango, body: bytes, **kwargs: Any) -> Answer:
    """The fast path's answer, after checking it answered itself and Django answers the same."""
    answered = call(fast, body, **kwargs)
    assert django.requests == 0, "the fast path handed the request to Django"
    assert call(django.app, body, **kwargs) == answered
    return answered


def test_an_allow_answer_is_the_django_routes_answer(fast, django, token):
    body = ask_body(idempotency_key="k-1")

    status, headers, content = call(fast, body, token=token)

    assert django.requests == 0
    assert status == 201
    answer = json.loads(content)
    assert answer["decision"] == "allow"
    assert ExternalAction.objects.get().id.hex == answer["id"].replace("-", "")
    # The same key and call through Django's handler: the same action, the same bytes (200: found).
    replay_status, replay_headers, replay_content = call(django.app, body, token=token)
    assert (replay_status, replay_content) == (200, content)
    assert dict(replay_headers) == dict(headers)  # the middleware's headers: CSP, nosniff, X-Frame-Options
    assert ExternalAction.objects.count() == 1


def test_pending_and_deny_answers_come_from_the_fast_path(fast, django, token):
    pending = json.loads(call(fast, ask_body(arguments={"amount": 500}), token=token)[2])
    critical = json.loads(call(fast, ask_body(tool="wipe"), token=token)[2])

    assert (pending["decision"], pending["status"]) == ("pending", "pending")
    assert critical["decision"] == "deny"
    assert django.requests == 0


@pytest.mark.parametrize(
    ("case", "body", "kwargs"),
    [
        ("no token", ask_body(), {"token": None}),
        ("bad token", ask_body(), {"token": "tg_not-a-token"}),
        ("bad token and bad JSON: the token first", b"{", {"token": "tg_not-a-token"}),
        ("malformed JSON", b'{"agent": ', {}),
        ("not JSON", b"agent=outside", {"content_type": b"application/x-www-form-urlencoded"}),
        ("not an object", b"[1, 2]", {}),
        ("NaN", b'{"agent": "outside", "session": "s", "tool": "refund", "arguments": {"a": NaN}}', {}),
        ("NUL", ask_body(reasoning="a\u0000b"), {}),
        ("too deep", b'{"agent": "outside", "session": "s", "tool": "refund", "context": ' + b"[" * 70, {}),
        ("missing field", json.dumps({"agent": "outside", "tool": "refund"}).encode(), {}),
        ("unknown field", ask_body(unknown=1), {}),
        ("wrong type", ask_body(arguments=[1]), {}),
        ("too long", ask_body(tool="x" * 65), {}),
        ("agent name refused", ask_body(agent="no spaces allowed"), {}),
        ("context too large", ask_body(context={"blob": "x" * 20_000}), {}),
        ("host not allowed", ask_body(), {"host": b"evil.example"}),
    ],
)
def test_a_refusal_is_the_django_routes_refusal(fast, django, token, case, body, kwargs):
    kwargs = {"token": token, **kwargs}

    status, _, content = same_answer(fast, django, body, **kwargs)

    assert 400 <= status < 500, (case, content)
    if case != "host not allowed":  # Django's own 400 page for a disallowed host
        assert "error" in json.loads(content), (case, content)
    assert ExternalAction.objects.count() == 0


def test_a_revoked_token_and_a_deactivated_user_are_refused_on_the_next_request(fast, token, requester):
    assert call(fast, ask_body(), token=token)[0] == 201

    ApiToken.objects.filter(name="fast").update(revoked_at="2026-01-01T00:00:00Z")
    assert call(fast, ask_body(), token=token)[0] == 401

    other, _ = api_token_create(user=requester, name="other")
    assert call(fast, ask_body(), token=other)[0] == 201
    requester.is_active = False
    requester.save(update_fields=["is_active"])
    assert call(fast, ask_body(), token=other)[0] == 401


def test_a_taken_idempotency_key_gets_the_same_answer_as_from_django(fast, django, token):
    first = call(fast, ask_body(idempotency_key="k"), token=token)
    assert first[0] == 201

    repeated = same_answer(fast, django, ask_body(idempotency_key="k"), token=token)
    conflict = same_answer(fast, django, ask_body(idempotency_key="k", arguments={"amount": 6}), token=token)

    assert (repeated[0], repeated[2]) == (200, first[2])
    assert conflict[0] == 409
    assert json.loads(conflict[2])["error"]["field"] == "idempotency_key"
    assert ExternalAction.objects.count() == 1


def test_a_body_sent_in_pieces_is_read_whole(fast, django, token):
    status, _, content = call(fast, ask_body(reasoning="r" * 3000), token=token, chunk=512)

    assert (status, json.loads(content)["decision"]) == (201, "allow")
    assert django.requests == 0


def test_an_oversized_body_is_refused_in_front_of_the_fast_path_as_django_refuses_it(
    fast, django, token, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    body = ask_body(reasoning="r" * 3000)

    status, _, content = call(body_limited(fast), body, token=token, chunk=512)

    assert django.requests == 0  # refused by console/body_limit.py once 2,048 bytes had come
    refused_by_django = call(django.app, body, token=token)
    assert status == refused_by_django[0] == 413
    # The same error shape and code; the message names the limit rather than Django's setting.
    assert json.loads(content) == {
        "error": {"code": "payload_too_large", "message": "the body is larger than 2000 bytes"}
    }
    assert json.loads(refused_by_django[2])["error"]["code"] == "payload_too_large"
    assert ExternalAction.objects.count() == 0


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("POST", "/api/v1/actions", b"x=%00"),  # a query string: the input guard's to check
        ("POST", "/api/v1/actions/", b""),
        ("GET", "/api/v1/actions", b""),
        ("POST", "/api/v1/budget/reserve", b""),
    ],
)
def test_other_requests_go_to_django_unchanged(fast, django, token, method, path, query):
    answered = call(fast, ask_body(), token=token, method=method, path=path, query=query)

    assert django.requests == 1
    assert answered == call(django.app, ask_body(), token=token, method=method, path=path, query=query)

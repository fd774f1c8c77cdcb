"""Outgoing webhooks: the one place that signs and posts them.

Receivers recompute `sha256=<HMAC-SHA256 of the exact body>` with the shared secret.
"""

import hashlib
import hmac
import json
from typing import Any

import httpx

from core.bounded_http import DeadlineTransport, bounded_exchange
from core.proxied_http import environment_proxied_client

SIGNATURE_HEADER = "X-Tollgate-Signature"
# For the whole exchange (connect, send, the answer): a receiver may be anyone's server.
TIMEOUT_S = 10.0
# Only the answer's status matters; its body is read this far, so the connection ends cleanly.
MAX_ANSWER_BYTES = 4_096


def webhook_signature(*, secret: str, body: bytes) -> str:
    """`sha256=<hex>` of the exact body bytes; receivers recompute it with the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_post(
    *, url: str, secret: str, event: dict[str, Any], transport: DeadlineTransport | None = None
) -> int:
    """POST `event` as JSON (keys sorted), signed when a secret is set; the answer's status.

    `transport`: how to connect, e.g. the egress guard's for a URL a client chose, which never
    goes through a proxy (the guard checks the address it connects to). Without one, a URL an
    administrator set goes through the environment's proxies (HTTP_PROXY, NO_PROXY, ...) as
    it did with httpx's own transport. Redirects are never followed. Raises
    httpx.HTTPError when it cannot be delivered (no connection, TIMEOUT_S passed, a refused
    address); a caller that retries also treats a 5xx or 429 answer as not delivered.
    """
    body = json.dumps(event, sort_keys=True, default=str).encode()
    headers = {"Content-Type": "application/json"}
    if secret:
        headers[SIGNATURE_HEADER] = webhook_signature(secret=secret, body=body)
    client = (
        environment_proxied_client(limits=httpx.Limits(max_connections=1))
        if transport is None
        else httpx.Client(transport=transport, follow_redirects=False)
    )
    with client:
        answer = bounded_exchange(
            client,
            "POST",
            url,
            timeout_s=TIMEOUT_S,
            max_bytes=MAX_ANSWER_BYTES,
            content=body,
            headers=headers,
        )
    return answer.response.status_code

"""Outgoing webhooks: the one place that signs and posts them.

Receivers recompute `sha256=<HMAC-SHA256 of the exact body>` with the shared secret.
"""

import hashlib
import hmac
import json
from typing import Any

import httpx

SIGNATURE_HEADER = "X-Tollgate-Signature"
TIMEOUT_S = 10.0


def webhook_signature(*, secret: str, body: bytes) -> str:
    """`sha256=<hex>` of the exact body bytes; receivers recompute it with the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_post(
    *, url: str, secret: str, event: dict[str, Any], transport: httpx.BaseTransport | None = None
) -> int:
    """POST `event` as JSON (keys sorted), signed when a secret is set; the answer's status.

    `transport`: how to connect, e.g. the egress guard's for a URL a client chose; redirects are
    never followed. Raises httpx.HTTPError when it cannot be delivered (no connection, a
    timeout, a refused address); a caller that retries also treats a 5xx or 429 answer as not
    delivered.
    """
    body = json.dumps(event, sort_keys=True, default=str).encode()
    headers = {"Content-Type": "application/json"}
    if secret:
        headers[SIGNATURE_HEADER] = webhook_signature(secret=secret, body=body)
    with httpx.Client(transport=transport, timeout=TIMEOUT_S, follow_redirects=False) as client:
        return client.post(url, content=body, headers=headers).status_code

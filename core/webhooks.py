"""Signing outgoing webhooks: receivers recompute the HMAC with the shared secret."""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Tollgate-Signature"


def webhook_signature(*, secret: str, body: bytes) -> str:
    """`sha256=<hex>` of the exact body bytes; receivers recompute it with the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

"""OpenTelemetry-shaped ids: 16-byte trace ids and 8-byte span ids, as lowercase hex."""

import secrets


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_span_id() -> str:
    return secrets.token_hex(8)

"""Encoded payloads: base64 and hex blobs that decode to text. The decoded text is handed back to
the scanner (as Revealed), which scans it with every detector; random bytes, images and hashes
do not decode to text and are dropped here."""

import base64
import binascii
from collections.abc import Iterator
from itertools import islice

from injection.detect.rules.patterns import compile_rule
from injection.detect.rules.revealed import Revealed

DETECTOR = "rules.encoded_payload"

# 24 characters decode to 18 bytes, the shortest instruction worth hiding; 1,000 (RE2's largest
# repetition) to 750 bytes.
_BASE64 = compile_rule(r"[A-Za-z0-9+/_-]{24,1000}={0,2}")
_HEX = compile_rule(r"\b(?:[0-9a-f]{2}){16,500}\b|(?:\\x[0-9a-f]{2}){16,500}")
# Per chunk: a page of attachments must not turn the scan into a decoding job.
MAX_BLOBS = 16
_MIN_PRINTABLE = 0.95
_WORDS = compile_rule(r"[\pL]{2,}[\s,.:;!?'\"-]+[\pL]{2,}")


def revealed(text: str) -> Iterator[Revealed]:
    candidates = [(match.span(), _from_base64(match.group(0))) for match in _BASE64.finditer(text)]
    candidates += [(match.span(), _from_hex(match.group(0))) for match in _HEX.finditer(text)]
    decoded = ((span, plain) for span, plain in candidates if plain is not None)
    for (start, end), plain in islice(decoded, MAX_BLOBS):
        yield Revealed(DETECTOR, start, end, plain)


def _from_base64(blob: str) -> str | None:
    body = blob.rstrip("=")
    if len(body) % 4 == 1:
        return None
    padded = body + "=" * (-len(body) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return _as_text(raw)


def _from_hex(blob: str) -> str | None:
    try:
        raw = bytes.fromhex(blob.replace("\\x", "").replace("\\X", ""))
    except ValueError:
        return None
    return _as_text(raw)


def _as_text(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(char.isprintable() or char in "\n\r\t" for char in text)
    if printable < _MIN_PRINTABLE * len(text) or not _WORDS.search(text):
        return None
    return text

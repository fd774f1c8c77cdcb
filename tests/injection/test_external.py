"""The external classifier over HTTP, against a local fake model server: its answers, its
failures in both fail modes, its timeout, and the egress guard on the configured URL."""

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from injection.detect import scan
from injection.detect.external import UNAVAILABLE, ExternalClassifier
from injection.external import external_classifier
from tests.support.http import serving

BENIGN = "The parcel left the Lyon depot this morning."


def fake_server(answer: bytes, *, delay_s: float = 0.0, status: int = 200, seen: list | None = None) -> type:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if seen is not None:
                seen.append(body)
            time.sleep(delay_s)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def test_a_high_score_is_a_finding_and_the_server_sees_the_text_and_the_tool():
    seen: list = []
    with serving(fake_server(b'{"score": 0.97}', seen=seen)) as url:
        result = scan(
            BENIGN,
            use_classifier=False,
            tool="web_fetch",
            external=ExternalClassifier(url=url, timeout_s=2, fail_closed=False),
        )

    assert result.flagged
    assert result.detectors == ["external"]
    assert result.score == 0.97
    assert seen == [{"text": BENIGN, "tool": "web_fetch"}]


def test_a_low_score_adds_nothing():
    with serving(fake_server(b'{"score": 0.1}')) as url:
        result = scan(
            BENIGN, use_classifier=False, external=ExternalClassifier(url=url, timeout_s=2, fail_closed=True)
        )

    assert result.flagged is False
    assert result.findings == ()


@pytest.mark.parametrize(
    ("answer", "status", "delay_s"),
    [
        (b'{"score": 0.9}', 200, 1.0),  # too slow for the 0.2 s timeout
        (b"oops", 500, 0.0),
        (b"not json", 200, 0.0),
        (b'{"score": 7}', 200, 0.0),
        (b'{"score": true}', 200, 0.0),
        (b'{"score": 0.9, "pad": "' + b"x" * 10_000 + b'"}', 200, 0.0),  # answer too long
    ],
)
def test_a_failed_answer_follows_the_fail_mode(answer, status, delay_s):
    with serving(fake_server(answer, status=status, delay_s=delay_s)) as url:
        open_result = scan(
            BENIGN,
            use_classifier=False,
            external=ExternalClassifier(url=url, timeout_s=0.2, fail_closed=False),
        )
        closed_result = scan(
            BENIGN,
            use_classifier=False,
            external=ExternalClassifier(url=url, timeout_s=0.2, fail_closed=True),
        )

    assert open_result.findings == ()
    assert closed_result.flagged is True
    assert closed_result.detectors == [UNAVAILABLE]


def test_no_url_configured_means_no_external_classifier(settings):
    settings.INJECTION_CLASSIFIER_URL = ""

    assert external_classifier() is None


def test_the_configured_classifier_goes_through_the_egress_guard(settings):
    with serving(fake_server(b'{"score": 0.99}')) as url:
        settings.INJECTION_CLASSIFIER_URL = url
        settings.INJECTION_CLASSIFIER_TIMEOUT_S = 2.0
        settings.INJECTION_CLASSIFIER_FAIL_CLOSED = True
        settings.TOOL_EGRESS_ALLOW = []
        refused = scan(BENIGN, use_classifier=False, external=external_classifier())

        settings.TOOL_EGRESS_ALLOW = ["127.0.0.1"]
        allowed = scan(BENIGN, use_classifier=False, external=external_classifier())

    # Loopback is refused before any packet is sent: the fail mode decides (closed here).
    assert refused.detectors == [UNAVAILABLE]
    assert allowed.detectors == ["external"]


def trickling_server(written: list[int], *, pause_s: float, bytes_before_rest: int) -> type:
    """Answers 200 at once, then its body a byte at a time, each byte well within a read
    timeout (httpx times every read on its own); after `bytes_before_rest` the rest at once."""
    answer = b'{"score": 0.9, "pad": "' + b"x" * 3_000 + b'"}'

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            try:
                for index in range(len(answer)):
                    if index >= bytes_before_rest:
                        self.wfile.write(answer[index:])
                        written.append(len(answer) - index)
                        return
                    self.wfile.write(answer[index : index + 1])
                    self.wfile.flush()
                    written.append(1)
                    time.sleep(pause_s)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading and left

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def test_an_answer_trickled_in_is_read_no_longer_than_the_calls_timeout():
    written: list[int] = []
    with serving(trickling_server(written, pause_s=0.05, bytes_before_rest=200)) as url:
        result = scan(
            BENIGN,
            use_classifier=False,
            external=ExternalClassifier(url=url, timeout_s=0.3, fail_closed=True),
        )

    assert result.detectors == [UNAVAILABLE]  # cut short: it counts as not answered
    # About 0.3 s of a byte every 0.05 s; read to its end, the client would have taken it all.
    assert sum(written) < 100, sum(written)

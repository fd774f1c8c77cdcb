"""One exchange, one deadline and one cap, against servers that trickle or never stop: the
headers and the body end at the deadline, a body without end is read only to the cap."""

import tracemalloc

import httpx
import pytest

from core.bounded_http import BoundedAnswer, DeadlineTransport, bounded_exchange
from tests.support.http import answering_slowly, serving

STATUS_LINE = b"HTTP/1.1 200 OK\r\n"


def exchange(url: str, *, timeout_s: float = 0.5, max_bytes: int = 4_096) -> BoundedAnswer:
    with httpx.Client(transport=DeadlineTransport(limits=httpx.Limits())) as client:
        return bounded_exchange(client, "POST", url, timeout_s=timeout_s, max_bytes=max_bytes, content=b"{}")


def test_headers_trickled_in_end_at_the_deadline():
    sent: list[int] = []
    # A header line that never ends, a byte every 0.05 s: each read is quick, the headers never come.
    head = STATUS_LINE + b"X-Pad: "
    with serving(answering_slowly(head, b"x", every_s=0.05, sent=sent, limit=4_000)) as url:
        with pytest.raises(httpx.TimeoutException):
            exchange(url, timeout_s=0.5)
        sent_while_asked = sum(sent) - len(head)

    # About 0.5 s of a byte every 0.05 s; without the deadline it would read all ~4,000 (200 s).
    assert sent_while_asked < 100, sent_while_asked


def test_a_body_trickled_in_ends_at_the_deadline():
    sent: list[int] = []
    head = STATUS_LINE + b"Content-Length: 4000\r\n\r\n"
    with serving(answering_slowly(head, b"x", every_s=0.05, sent=sent, limit=4_000)) as url:
        with pytest.raises(httpx.TimeoutException):
            exchange(url, timeout_s=0.5)
        sent_while_asked = sum(sent) - len(head)

    assert sent_while_asked < 100, sent_while_asked


def test_a_body_without_end_is_read_only_to_the_cap():
    sent: list[int] = []
    head = STATUS_LINE + b"Content-Type: text/plain\r\n\r\n"  # no length: the body lasts until close
    handler = answering_slowly(head, b"x" * 65_536, every_s=0, sent=sent, limit=1 << 30)
    with serving(handler) as url:
        tracemalloc.start()
        try:
            answer = exchange(url, timeout_s=5.0, max_bytes=4_096)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert (answer.response.status_code, answer.complete, len(answer.body)) == (200, False, 4_096)
    # Unbounded, it read the server's ~270 MiB a second into memory until the server stopped.
    assert peak < 4 << 20, peak


def test_a_prompt_answer_is_read_whole():
    sent: list[int] = []
    head = STATUS_LINE + b"Content-Length: 5\r\n\r\n"
    with serving(answering_slowly(head, b"hello", every_s=0, sent=sent, limit=len(head) + 5)) as url:
        answer = exchange(url)

    assert (answer.response.status_code, answer.complete, answer.body) == (200, True, b"hello")

"""Webhooks to a destination an administrator set go through the environment's proxies (a
deployment whose only way out is a proxy still pages), skip them for NO_PROXY's hosts, and keep
the whole exchange's deadline on the way through the proxy. A URL a client chose never does."""

import json
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from agents.tools.egress_transport import EgressGuardedBackend
from core.bounded_http import DeadlineTransport
from core.webhooks import webhook_post
from tests.support.http import answering_slowly, serving
from tests.support.proxy import forwarding_proxy

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def receiver(received: list[dict]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def test_a_webhook_goes_through_the_environments_proxy(monkeypatch):
    received: list[dict] = []
    with serving(receiver(received)) as url, forwarding_proxy() as (proxy_url, forwarded):
        monkeypatch.setenv("HTTP_PROXY", proxy_url)
        status = webhook_post(url=f"{url}/hook", secret="s", event={"n": 1})

    assert (status, received, forwarded) == (202, [{"n": 1}], [f"{url}/hook"])


def test_an_https_webhook_asks_the_proxy_for_a_tunnel(monkeypatch):
    with forwarding_proxy() as (proxy_url, forwarded):
        monkeypatch.setenv("HTTPS_PROXY", proxy_url)
        # The proxy refuses the tunnel: what counts is that it was asked, not a DNS lookup here.
        with pytest.raises(httpx.ProxyError):
            webhook_post(url="https://events.pagerduty.invalid/v2/enqueue", secret="", event={})

    assert forwarded == ["CONNECT events.pagerduty.invalid:443"]


def test_no_proxy_hosts_are_sent_direct(monkeypatch):
    received: list[dict] = []
    with serving(receiver(received)) as url, forwarding_proxy() as (proxy_url, forwarded):
        monkeypatch.setenv("HTTP_PROXY", proxy_url)
        monkeypatch.setenv("NO_PROXY", "example.org,127.0.0.1")
        status = webhook_post(url=f"{url}/hook", secret="", event={"n": 2})

    assert (status, received, forwarded) == (202, [{"n": 2}], [])


def test_the_deadline_holds_through_the_proxy(monkeypatch):
    sent: list[int] = []
    # The proxy itself trickles its answer's headers, a byte every 0.05 s.
    head = b"HTTP/1.1 200 OK\r\nX-Pad: "
    monkeypatch.setattr("core.webhooks.TIMEOUT_S", 0.5)
    with serving(answering_slowly(head, b"x", every_s=0.05, sent=sent, limit=4_000)) as proxy_url:
        monkeypatch.setenv("HTTP_PROXY", proxy_url)
        with pytest.raises(httpx.TimeoutException):
            webhook_post(url="http://receiver.invalid/hook", secret="", event={})
        sent_while_asked = sum(sent) - len(head)

    assert sent_while_asked < 100, sent_while_asked


def test_a_client_chosen_url_is_never_sent_through_a_proxy(monkeypatch):
    received: list[dict] = []
    with serving(receiver(received)) as url, forwarding_proxy() as (proxy_url, forwarded):
        monkeypatch.setenv("HTTP_PROXY", proxy_url)
        # A plain DeadlineTransport stands in for the egress guard's (which refuses loopback).
        status = webhook_post(
            url=url, secret="", event={"n": 3}, transport=DeadlineTransport(limits=httpx.Limits())
        )

    assert (status, received, forwarded) == (202, [{"n": 3}], [])
    with pytest.raises(ValueError, match="past the backend"):
        DeadlineTransport(limits=httpx.Limits(), backend=EgressGuardedBackend(), proxy=httpx.Proxy(proxy_url))

"""A forwarding HTTP proxy for tests: it takes a request for an absolute http:// URL, sends it on
to that URL and hands the answer back, keeping each URL it was asked for. A CONNECT (an https://
URL's tunnel) is kept as `CONNECT host:port` and refused (502): the tests have no TLS receiver."""

from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

import httpx

from tests.support.http import serving


@contextmanager
def forwarding_proxy() -> Iterator[tuple[str, list[str]]]:
    """Yields the proxy's URL (for HTTP_PROXY) and the list of URLs it forwarded so far."""
    forwarded: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            forwarded.append(self.path)  # a proxy is asked for the whole URL
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            # An explicit transport: this hop must not itself go through the environment's proxy.
            with httpx.Client(transport=httpx.HTTPTransport()) as client:
                answer = client.post(self.path, content=body, headers=headers)
            self.send_response(answer.status_code)
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def do_CONNECT(self) -> None:
            forwarded.append(f"CONNECT {self.path}")
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url, forwarded

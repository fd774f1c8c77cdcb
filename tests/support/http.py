"""Local HTTP servers for tests: a handler class served on a free loopback port."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` from a daemon thread until the block ends; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    # A short poll keeps shutdown (one per test) quick.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def answering_slowly(
    head: bytes, piece: bytes, *, every_s: float, sent: list[int], limit: int
) -> type[BaseHTTPRequestHandler]:
    """A hostile server: after reading the request it writes `head`, then `piece` every `every_s`
    seconds (0: at once, again and again) until `limit` bytes or the client leaves; `sent` gets
    each write's size. Headers trickled in (`head` without its blank line), a body trickled in,
    or a body without end."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                self.wfile.write(head)
                sent.append(len(head))
                for _ in range((limit - len(head)) // len(piece)):
                    self.wfile.write(piece)
                    sent.append(len(piece))
                    time.sleep(every_s)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading and left
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    return Handler

"""A peer that accepts connections and never answers: a stalled Redis, a hung model server."""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class StalledServer:
    """A TCP server that accepts every connection and never reads or writes on it."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)  # closing the socket does not wake a blocked accept()
        self.accepted: list[socket.socket] = []
        self.closing = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.getsockname()[1])

    @property
    def address(self) -> str:
        """`host:port`, for a URL of any scheme."""
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            self.accepted.append(conn)

    def close(self) -> None:
        """The listener first: a client that retries on a closed connection is refused."""
        self.closing.set()
        self.thread.join(timeout=10)
        self.server.close()
        for conn in self.accepted:
            conn.close()


@contextmanager
def stalled_server() -> Iterator[StalledServer]:
    server = StalledServer()
    try:
        yield server
    finally:
        server.close()

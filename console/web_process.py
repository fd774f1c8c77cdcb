"""One process of the web server (console/web_group.py): uvicorn serving the socket it was given.

Run as `python -m console.web_process --fd N --app MODULE:ATTR --graceful S` by the web
server's parent, which bound the socket (SO_REUSEPORT, one per process) and supervises this.
"""

import argparse
import asyncio
import socket

import uvicorn

from console.web_group import uvicorn_settings
from core.heartbeats import heartbeat_start


class BeatingServer(uvicorn.Server):
    """uvicorn's server, beating to its supervisor from its event loop (core/heartbeats.py): a
    stuck loop stops beating, and the supervisor replaces the process."""

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        heartbeat_start(asyncio.get_running_loop())
        await super().serve(sockets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fd", type=int, required=True, help="the listening socket's file descriptor")
    parser.add_argument("--app", required=True)
    parser.add_argument("--graceful", type=int, required=True, help="seconds open connections get to end")
    options = parser.parse_args()
    sock = socket.socket(fileno=options.fd)
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        options.app, host=host, port=port, **uvicorn_settings(graceful_s=options.graceful)
    )
    BeatingServer(config).run(sockets=[sock])


if __name__ == "__main__":
    main()

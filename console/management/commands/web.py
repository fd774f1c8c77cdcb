"""`manage.py web`: the web server and API, WEB_CONCURRENCY uvicorn processes (console/web_group.py)."""

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from console.web_group import address_free, web_group_run


class Command(BaseCommand):
    help = "Run the web server: WEB_CONCURRENCY uvicorn processes, each accepting on a socket of its own."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to bind")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--processes",
            type=int,
            default=settings.WEB_CONCURRENCY,
            help="default WEB_CONCURRENCY: the cores + 1",
        )
        parser.add_argument("--app", default="console.asgi_static:application", help="the ASGI application")
        parser.add_argument(
            "--graceful", type=int, default=5, help="seconds open connections get to end when it stops"
        )

    def handle(
        self, *args: Any, host: str, port: int, processes: int, app: str, graceful: int, **options: Any
    ) -> None:
        if processes < 1:
            raise CommandError("--processes must be at least 1")
        if not 0 < port < 65536:
            # Port 0 would give each process's socket a port of its own.
            raise CommandError("--port must be between 1 and 65535")
        # Checked without SO_REUSEPORT, which would let these sockets share the port with an
        # earlier server of the same user (one left running, say) and split its connections.
        if not address_free(host, port):
            raise CommandError(f"{host}:{port} is in use; stop what listens there or choose another --port")
        web_group_run(
            app=app,
            host=host,
            port=port,
            processes=processes,
            graceful_s=graceful,
            silent_after_s=settings.WEB_HEARTBEAT_TIMEOUT_S,
        )

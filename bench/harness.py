"""What every benchmark needs: its own database, the simulator, workers, and percentiles.

Run a benchmark from the project root: `.venv/bin/python bench/NAME.py`. It starts what it
needs (the embedded PostgreSQL unless DATABASE_URL is set; Redis as the app resolves it)
and stops everything it started when it ends.
"""

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from console.embedded import free_port  # noqa: E402 - after the project root is importable

__all__ = ["free_port"]  # benchmarks import it from here with the rest of the harness


def setup_django(database: str) -> None:
    """Point Django at a database of the benchmark's own (created and migrated if needed)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings.dev")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("CELERY_QUEUE", f"bench-{os.getpid()}")
    from console import embedded

    base = urlsplit(embedded.database_url())
    os.environ["DATABASE_URL"] = urlunsplit(base._replace(path=f"/{database}"))
    embedded.redis_url()
    import psycopg

    with psycopg.connect(urlunsplit(base._replace(path="/postgres")), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def agent_version_new(name: str, *, model: str, tools: Iterable[Any], **fields: Any) -> Any:
    """The agent `name` (created if needed) at a new current version with `model` and `tools`:
    a benchmark's database persists between runs, so each run adds a version."""
    from agents.models import Agent, AgentVersion

    agent, _ = Agent.objects.get_or_create(name=name)
    number = agent.versions.count() + 1
    version = AgentVersion.objects.create(agent=agent, number=number, model=model, **fields)
    version.tools.set(tools)
    agent.current_version = version
    agent.save(update_fields=["current_version"])
    return agent


def echo_chain_agent(name: str, *, steps: int, latency_ms: int | None = None) -> Any:
    """An agent whose task is `steps` steps: `steps - 1` calls of the `echo` tool, then an
    answer, each model call answering after `latency_ms` (the simulator's default without)."""
    from agents.models import Tool
    from agents.tools.python import python_tools_sync

    python_tools_sync()
    latency = f"&latency_ms={latency_ms}" if latency_ms is not None else ""
    return agent_version_new(
        name,
        model=f"sim/chain?calls={steps - 1}&tool=echo{latency}",
        tools=Tool.objects.filter(name="echo"),
        max_iterations=steps + 5,
    )


@contextmanager
def process(
    args: list[str],
    *,
    ready: str | None = None,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    timeout: float = 30,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a child in its own process group; wait for `ready` in its output; stop it after."""
    log = log or Path(tempfile.mkdtemp(prefix="tollgate-bench-")) / f"{Path(args[0]).name}.log"
    with log.open("wb") as handle:
        child = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while ready and ready not in log.read_text(errors="replace"):
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{args[0]} did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.05)
        yield child
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()


@contextmanager
def simulator() -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    os.environ["SIMULATOR_URL"] = url
    with process([sys.executable, "manage.py", "simulator", "--port", str(port)], ready="Simulator on"):
        import httpx

        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/health", timeout=0.5).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url


@contextmanager
def worker(concurrency: int | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """A worker as `make run` starts it: WORKER_PROCESSES processes sharing WORKER_CONCURRENCY
    threads unless told otherwise (console/worker_group.py)."""
    args = [
        sys.executable,
        str(ROOT / "manage.py"),
        "worker",
        *(["--concurrency", str(concurrency)] if concurrency is not None else []),
        "--queue",
        os.environ["CELERY_QUEUE"],
    ]
    with process(args, ready="ready.", env={"LOG_LEVEL": "INFO"}) as child:
        yield child


@contextmanager
def web() -> Iterator[int]:
    """The ASGI app (pages, WebSockets, webhooks) under one uvicorn process; yields its port."""
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "console.asgi:application",
        "--port",
        str(port),
        "--lifespan",
        "off",
    ]
    with process(args, ready="Uvicorn running"):
        yield port


class Arrivals:
    """Records when each keyed request arrives (wall clock and this process's perf counter)."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[float, float]] = {}
        self.event = threading.Condition()

    def record(self, key: str) -> None:
        stamp = (time.time(), time.perf_counter())
        with self.event:
            self.seen.setdefault(key, stamp)
            self.event.notify_all()

    def wait_for(self, key: str, timeout: float = 30) -> tuple[float, float]:
        with self.event:
            if not self.event.wait_for(lambda: key in self.seen, timeout=timeout):
                raise RuntimeError(f"never received {key}")
            return self.seen[key]


def serve_http(handler: type[BaseHTTPRequestHandler]) -> str:
    """`handler` on a local port, on threads of this process; returns its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def http_tool(calls: Arrivals) -> str:
    """An HTTP tool answering every POST with {"ok": true}; records each call by its Idempotency-Key."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            calls.record(self.headers.get("Idempotency-Key", ""))
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return serve_http(Handler)


class BackgroundSampler:
    """Calls `sample()` every `interval` seconds on a thread while the `with` block runs."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with self.session():
            while not self._stop.is_set():
                self.sample()
                self._stop.wait(self.interval)

    def session(self) -> AbstractContextManager[object]:
        """What the sampling thread holds open while it runs (nothing, unless overridden)."""
        return nullcontext()

    def sample(self) -> None:
        raise NotImplementedError


class RssSampler(BackgroundSampler):
    """Peak memory of a process tree, sampled in the background.

    Forked pool children share most of their pages with the parent, so a plain sum of RSS
    counts those pages once per process. PSS (proportional set size) divides each shared
    page among its sharers: the sum of PSS is what the tree really holds in memory.
    """

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        import psutil

        super().__init__(interval)
        self.root = psutil.Process(pid)
        self.peak_bytes = 0  # the sum of RSS (shared pages counted in every process)
        self.peak_pss_bytes = 0
        self.peak_single_bytes = 0

    def sample(self) -> None:
        import psutil

        try:
            procs = [self.root, *self.root.children(recursive=True)]
            infos = [p.memory_full_info() for p in procs]
        except psutil.NoSuchProcess:
            return
        if infos:
            self.peak_bytes = max(self.peak_bytes, sum(i.rss for i in infos))
            self.peak_pss_bytes = max(self.peak_pss_bytes, sum(i.pss for i in infos))
            self.peak_single_bytes = max(self.peak_single_bytes, max(i.rss for i in infos))


class ConnectionSampler(BackgroundSampler):
    """The most backends connected to one database at once (the sampler's own excluded)."""

    def __init__(self, dsn: str, database: str, interval: float = 0.1) -> None:
        super().__init__(interval)
        self.dsn, self.database = dsn, database
        self.peak = 0

    def session(self) -> AbstractContextManager[object]:
        import psycopg

        self._conn = psycopg.connect(self.dsn, autocommit=True)
        return self._conn

    def sample(self) -> None:
        row = self._conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [self.database]
        ).fetchone()
        self.peak = max(self.peak, int(row[0]) - 1 if row else 0)


def process_tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its live children."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def postgres_cpu_s() -> float | None:
    """CPU seconds used so far by the embedded PostgreSQL server's live processes (its
    backends included); None when the database is not the embedded one of this checkout."""
    from console.embedded import STATE_DIR

    pidfile = Path(STATE_DIR) / "pgdata" / "postmaster.pid"
    if (
        not pidfile.exists()
        or os.environ.get("DATABASE_URL", "").find(str(STATE_DIR).replace("/", "%2F")) < 0
    ):
        return None
    return process_tree_cpu_s(int(pidfile.read_text().split()[0]))


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]

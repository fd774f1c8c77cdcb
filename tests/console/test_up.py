"""`manage.py up` as a real process: the stack comes up, answers, and goes away completely."""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
import psycopg
import pytest
import yaml
from django.conf import settings
from psycopg import sql
from psycopg.conninfo import make_conninfo

from console.celery import app as celery_app
from console.embedded import free_port

pytestmark = pytest.mark.worker

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 40


class Up:
    """A running `manage.py up` and everything it printed so far."""

    def __init__(
        self, process: subprocess.Popen[str], web_url: str, simulator_url: str, env: dict[str, str]
    ) -> None:
        self.process = process
        self.web_url = web_url
        self.simulator_url = simulator_url
        self.env = env  # for `manage.py` commands against the same database
        self.lines: list[str] = []
        self.known: dict[int, psutil.Process] = {}  # every descendant seen, for cleanup after a failure
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def ended(self, timeout_s: float) -> int:
        """Wait for `up` to exit and for the last of its output; its exit code."""
        code = self.process.wait(timeout=timeout_s)
        self._reader.join(timeout=10)
        return code

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while text not in self.output:
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"`up` never printed {text!r}; it printed:\n{self.output}")
            time.sleep(0.1)
        self.descendants()

    def descendants(self) -> list[psutil.Process]:
        found = psutil.Process(self.process.pid).children(recursive=True)
        self.known.update((process.pid, process) for process in found)
        return found

    def child(self, argument: str) -> psutil.Process:
        # A whole argument: the web server's `--workers` must not pass for the Celery worker.
        return next(p for p in psutil.Process(self.process.pid).children() if argument in p.cmdline())


@pytest.fixture(scope="module")
def up_database_url() -> Iterator[str]:
    """A throwaway database on the test run's PostgreSQL server, migrated by `up` itself."""
    server_url = os.environ["DATABASE_URL"]  # resolved by settings import
    name = f"tollgate_uptest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(make_conninfo(server_url, dbname="postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlsplit(server_url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(make_conninfo(server_url, dbname="postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def start_up(up_database_url: str, tmp_path: Path) -> Iterator[Callable[..., Up]]:
    started: list[Up] = []

    def start(*args: str, **extra_env: str) -> Up:
        port, simulator_port = free_port(), free_port()
        simulator_url = f"http://127.0.0.1:{simulator_port}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "console.settings.dev",
            "DATABASE_URL": up_database_url,
            "SIMULATOR_URL": simulator_url,
            "TOLLGATE_STATE_DIR": str(tmp_path),
            "PYTHONUNBUFFERED": "1",
            # `up` hides Celery's line per task by default; the test reads it to see a task run.
            "CELERY_TASK_LOG_LEVEL": "INFO",
            **extra_env,
        }
        process = subprocess.Popen(
            [sys.executable, "manage.py", "up", "--port", str(port), *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        up = Up(process, f"http://127.0.0.1:{port}", simulator_url, env)
        started.append(up)
        return up

    yield start
    for up in started:  # a failed test must not leave a stack running
        up.process.kill()
        for process in up.known.values():
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()


def test_up_serves_the_console_and_ctrl_c_stops_every_process(start_up: Callable[..., Up]) -> None:
    up = start_up()
    up.wait_for("Ctrl-C to stop")
    for stage in ("PostgreSQL … ready (DATABASE_URL", "Redis      … ready", "migrations … applied"):
        assert stage in up.output
    for name in ("web", "worker", "beat", "simulator"):
        assert re.search(rf"^{name} +… up \(pid \d+\)$", up.output, re.MULTILINE), name
    assert f"open       {up.web_url}/" in up.output
    assert f"API docs   {up.web_url}/api/v1/docs" in up.output
    assert f"health     {up.web_url}/api/v1/health/ready" in up.output
    # docker-compose.yaml's web healthcheck, against this web server: exit status 0.
    probe = _compose_web_healthcheck(up.web_url, allowed_hosts=".localhost,127.0.0.1")
    assert probe.returncode == 0, probe.stderr

    with httpx.Client(base_url=up.web_url, timeout=10) as browser:
        ready = browser.get("/api/v1/health/ready")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "broker": "ok"}}
        assert browser.get("/api/v1/health/live").json() == {"status": "ok"}
        login_page = browser.get("/", follow_redirects=True)
        assert login_page.status_code == 200
        assert 'name="password"' in login_page.text
        assert browser.get("/static/admin/css/base.css").status_code == 200
        openapi = browser.get("/api/v1/openapi.json")
        assert openapi.status_code == 200
        assert "/api/v1/tasks" in openapi.json()["paths"]
        # uvicorn's access log has this request, asked after the health probes, but not them.
        up.wait_for('"GET /api/v1/openapi.json HTTP/1.1" 200', timeout_s=10)
        assert "/api/v1/health/" not in up.output.split("Ctrl-C to stop", 1)[1]
        # The printed admin password really logs in.
        password = re.search(r"admin +admin / (\S+)", up.output).group(1)
        form = browser.get("/admin/login/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        signed_in = browser.post(
            "/admin/login/?next=/admin/",
            data={"username": "admin", "password": password, "csrfmiddlewaretoken": csrf},
        )
        assert signed_in.status_code == 302
        assert signed_in.headers["location"] == "/admin/"

    assert httpx.get(f"{up.simulator_url}/health", timeout=5).status_code == 200
    # The worker consumes the queue and its log is relayed under its name: run beat's own sweep.
    sweep = next(iter(settings.CELERY_BEAT_SCHEDULE.values()))["task"]
    sent = celery_app.send_task(sweep, queue=settings.CELERY_TASK_DEFAULT_QUEUE)
    up.wait_for(f"[{sent.id}] succeeded", timeout_s=30)
    assert re.search(rf"^worker +\| .*{sent.id}\] succeeded", up.output, re.MULTILINE)

    processes = up.descendants()
    assert len(processes) >= 4  # web, worker (its pool is threads), beat, simulator
    up.process.send_signal(signal.SIGINT)
    up.process.wait(timeout=STOP_TIMEOUT_S)

    assert up.process.returncode == 0, up.output
    assert "all processes stopped" in up.output
    assert [p.pid for p in processes if _alive(p)] == []


def _compose_web_healthcheck(web_url: str, *, allowed_hosts: str) -> subprocess.CompletedProcess[str]:
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    kind, *command = compose["services"]["web"]["healthcheck"]["test"]
    assert kind == "CMD"
    command = [
        sys.executable if part == "python" else part.replace("http://127.0.0.1:8000", web_url)
        for part in command
    ]
    env = {**os.environ, "DJANGO_ALLOWED_HOSTS": allowed_hosts}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)


def test_up_restarts_a_killed_simulator_and_ctrl_c_still_stops_all(start_up: Callable[..., Up]) -> None:
    up = start_up("--no-demo")
    up.wait_for("Ctrl-C to stop")
    assert "demo       … skipped (--no-demo)" in up.output
    killed = up.child("simulator")

    os.kill(killed.pid, signal.SIGKILL)
    up.wait_for("simulator died (killed by SIGKILL); restarting it in 1 s", timeout_s=30)
    up.wait_for("simulator is up again (pid ")

    assert up.child("simulator").pid != killed.pid
    assert httpx.get(f"{up.simulator_url}/health", timeout=5).status_code == 200
    processes = up.descendants()
    up.process.send_signal(signal.SIGINT)
    up.process.wait(timeout=STOP_TIMEOUT_S)
    assert up.process.returncode == 0, up.output
    assert "all processes stopped" in up.output
    assert [p.pid for p in processes if _alive(p)] == []


@pytest.mark.parametrize("taken", ["web", "simulator"])
def test_up_refuses_an_address_in_use_and_starts_nothing(start_up: Callable[..., Up], taken: str) -> None:
    """Another stack on the port: `up` says so and stops, rather than report itself running
    at an address where the other one answers."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        busy = other.getsockname()[1]
        if taken == "web":
            up = start_up("--port", str(busy))
        else:
            up = start_up(SIMULATOR_URL=f"http://127.0.0.1:{busy}")
        code = up.ended(timeout_s=START_TIMEOUT_S)

    assert code == 1, up.output
    assert f"the {taken}'s address 127.0.0.1:{busy} is in use" in up.output
    assert "ports      … failed" in up.output
    assert "migrations" not in up.output
    assert "Tollgate is running" not in up.output


SLOW_SCENARIO = """\
description: One answer after five seconds, so a test can kill the worker while the step waits on it.
latency_ms: 5000
turns:
  - answer: Finished after all.
"""


def test_up_restarts_a_killed_worker_and_its_interrupted_task_finishes(
    start_up: Callable[..., Up], tmp_path: Path
) -> None:
    """The stack stays up while the worker is down; the step it was running is taken over and ends."""
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "slow.yaml").write_text(SLOW_SCENARIO)
    # A short lease and a frequent sweep, so the dead worker's task is taken over within seconds.
    up = start_up(TASK_LEASE_S="10", STALLED_SWEEP_S="2", SIM_SCENARIOS=str(scenarios))
    up.wait_for("Ctrl-C to stop")
    api = httpx.Client(base_url=up.web_url, headers={"Authorization": f"Bearer {_token(up)}"}, timeout=10)
    created = api.post("/api/v1/agents", json={"name": "slowpoke", "model": "sim/slow"})
    assert created.status_code == 201, created.text
    submitted = api.post("/api/v1/tasks", json={"agent": "slowpoke", "input": "Take your time."})
    assert submitted.status_code == 202, submitted.text
    task_url = f"/api/v1/tasks/{submitted.json()['id']}"
    _wait_for_status(api, task_url, "running", timeout_s=60)
    processes = up.descendants()  # the worker's pool processes too
    killed = up.child("worker")

    os.kill(killed.pid, signal.SIGKILL)
    interrupted = api.get(task_url).json()
    up.wait_for("worker died (killed by SIGKILL); restarting it in 1 s", timeout_s=30)

    assert (interrupted["status"], interrupted["steps"]) == ("running", [])  # killed mid-step
    assert api.get("/").status_code in {200, 302}  # web answers while the worker is down
    up.wait_for("worker is up again (pid ")
    assert up.child("worker").pid != killed.pid
    finished = _wait_for_status(api, task_url, "succeeded", timeout_s=90)
    assert finished["result"] == "Finished after all."
    assert len(finished["steps"]) == 1

    processes += up.descendants()
    up.process.send_signal(signal.SIGINT)
    up.process.wait(timeout=STOP_TIMEOUT_S)
    assert up.process.returncode == 0, up.output
    assert [p.pid for p in processes if _alive(p)] == []


def _token(up: Up) -> str:
    created = subprocess.run(
        [sys.executable, "manage.py", "createtoken", "admin"],
        cwd=ROOT,
        env=up.env,
        capture_output=True,
        text=True,
        check=True,
    )
    return created.stdout.strip()


def _wait_for_status(api: httpx.Client, task_url: str, status: str, *, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while (task := api.get(task_url).json())["status"] != status:
        if time.monotonic() > deadline:
            pytest.fail(f"the task never reached {status!r}: {task}")
        time.sleep(0.1)
    return task


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False

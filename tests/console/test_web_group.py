"""`manage.py web`: the web server's processes each accept on a socket of their own
(console/web_group.py), so the kernel spreads keep-alive callers over them; a process that dies,
or whose event loop is stuck, is started again on a socket bound afresh."""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from console.embedded import free_port
from console.web_group import heartbeat_policy
from core.heartbeats import HeartbeatPolicy
from core.process_group import ProcessGroup
from tests.support.processes import ROOT, child_env, process_group_stop, wait_until

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT spreads on Linux")

PROCESSES = 3
CALLERS = 60
# WEB_HEARTBEAT_TIMEOUT_S for the tests of stuck processes: shorter than the default, to keep
# them short, but far above two processes' start (3.6 s at once on 2 cores) on a busy machine.
SILENT_AFTER_S = 15


@contextmanager
def web_server(tmp_path: Path, *args: str, **env: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    command = [sys.executable, "manage.py", "web", "--port", str(port), "--app", "console.asgi:application"]
    log = tmp_path / "web.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [*command, *args],
            cwd=ROOT,
            env=child_env(**env),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process, port
    finally:
        process_group_stop(process, timeout_s=10)


def serving(parent: int, port: int) -> dict[int, set[str]]:
    """Each process of the server (pid) and the listening sockets it holds on `port` (inodes)."""
    found = {}
    for child in psutil.Process(parent).children():
        held = set()
        with contextlib.suppress(psutil.NoSuchProcess):
            for conn in child.net_connections(kind="tcp"):
                if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port:
                    # Gone in between when the child was between its fork and its exec.
                    with contextlib.suppress(FileNotFoundError):
                        held.add(os.readlink(f"/proc/{child.pid}/fd/{conn.fd}"))
            found[child.pid] = held
    return found


def established(pid: int, port: int) -> int:
    return sum(
        1
        for conn in psutil.Process(pid).net_connections(kind="tcp")
        if conn.status == psutil.CONN_ESTABLISHED and conn.laddr.port == port
    )


def keep_alive_caller(stack: ExitStack, port: int) -> None:
    """A caller that asks once and keeps its connection open, as the gate's callers do."""
    client = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30))
    assert client.get("/api/v1/health/live").status_code == 200


def all_up(
    process: subprocess.Popen[bytes], port: int, tmp_path: Path, processes: int = PROCESSES
) -> dict[int, set[str]] | None:
    """The server's processes and their sockets if each has loaded the app (its own words in the
    log), else None; until then a connection its socket takes waits in the backlog."""
    log = tmp_path / "web.log"
    assert process.poll() is None, log.read_text()
    text = log.read_text()  # before the sockets: a process that logged this has exec'd
    found = serving(process.pid, port)
    started = all(f"Started server process [{pid}]" in text for pid in found)
    return found if len(found) == processes and all(found.values()) and started else None


def ready(
    process: subprocess.Popen[bytes], port: int, tmp_path: Path, processes: int = PROCESSES
) -> dict[int, set[str]]:
    """The server's processes and their sockets, once each has loaded the app."""
    return wait_until(
        lambda: all_up(process, port, tmp_path, processes), timeout=90, what="the web server's processes"
    )


def test_each_process_accepts_on_its_own_socket_and_callers_are_spread(tmp_path: Path) -> None:
    with web_server(tmp_path, "--processes", str(PROCESSES)) as (process, port):
        sockets = ready(process, port, tmp_path)
        # One listening socket each, none shared: uvicorn's --workers gives all one socket.
        assert all(len(held) == 1 for held in sockets.values()), sockets
        assert len(set.union(*sockets.values())) == PROCESSES
        with ExitStack() as stack:
            for _ in range(CALLERS):
                keep_alive_caller(stack, port)
            held = {pid: established(pid, port) for pid in sockets}
            assert sum(held.values()) == CALLERS
            # Spread by a hash of each connection's addresses: every process gets some, none the
            # lion's share (20 each on average; over 40 is ~5.5 standard deviations out).
            assert all(1 <= count <= 40 for count in held.values()), held


def test_a_process_that_dies_is_started_again_on_its_socket(tmp_path: Path) -> None:
    with web_server(tmp_path, "--processes", str(PROCESSES)) as (process, port):
        before = ready(process, port, tmp_path)
        victim = next(iter(before))
        os.kill(victim, signal.SIGKILL)

        wait_until(lambda: victim not in serving(process.pid, port), timeout=30, what="the death seen")
        after = ready(process, port, tmp_path)
        # The dead process's socket was closed (new connections went to the others meanwhile);
        # its replacement serves one bound afresh, beside the survivors' own.
        assert all(len(held) == 1 for held in after.values()), after
        assert len(set.union(*after.values())) == PROCESSES
        assert not before[victim] & set.union(*after.values())
        assert {pid: before[pid] for pid in before if pid != victim} == {
            pid: after[pid] for pid in after if pid in before
        }
        assert re.search(
            r"web process \d died \(killed by SIGKILL\); restarting it", (tmp_path / "web.log").read_text()
        )
        with ExitStack() as stack:
            for _ in range(CALLERS):
                keep_alive_caller(stack, port)
            assert all(established(pid, port) >= 1 for pid in after)


def caller_served_by(stack: ExitStack, port: int, pid: int) -> httpx.Client:
    """A keep-alive caller whose connection the process `pid` accepted (the kernel picks the
    socket by a hash of the connection's addresses: callers are opened until one lands there)."""
    while True:
        held = established(pid, port)
        client = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30))
        assert client.get("/api/v1/health/live").status_code == 200
        if established(pid, port) > held:
            return client


def test_a_process_whose_event_loop_is_stuck_is_replaced_and_the_other_keeps_serving(
    tmp_path: Path,
) -> None:
    log = tmp_path / "web.log"
    with web_server(
        tmp_path, "--processes", "2", "--graceful", "1", WEB_HEARTBEAT_TIMEOUT_S=str(SILENT_AFTER_S)
    ) as (process, port):
        before = ready(process, port, tmp_path, processes=2)
        stuck, survivor = before
        with ExitStack() as stack:
            client = caller_served_by(stack, port, survivor)
            # Its event loop stops, and its heartbeats with it; SIGTERM waits for a SIGCONT,
            # so only the SIGKILL that follows ends it.
            os.kill(stuck, signal.SIGSTOP)

            def replaced() -> dict[int, set[str]] | None:
                # Asked again and again (never idle long enough for uvicorn to close the
                # connection): the other process answers all along.
                assert client.get("/api/v1/health/live").status_code == 200
                found = all_up(process, port, tmp_path, processes=2)
                return found if found and stuck not in found else None

            after = wait_until(replaced, timeout=SILENT_AFTER_S + 90, what="the stuck process replaced")
            assert established(survivor, port) >= 1  # the same connection, still to it

        text = log.read_text()
        assert re.search(rf"web process \d \(pid {stuck}\) sent no heartbeat for [\d.]+ s", text), text
        assert re.search(rf"web process \d \(pid {stuck}\) did not stop; killing it", text), text
        assert re.search(r"web process \d died \(killed by SIGKILL\); restarting it in 1 s", text), text
        assert f"(pid {survivor})" not in text
        assert survivor in after
        assert stuck not in after
        # Its replacement serves a socket bound afresh, beside the survivor's own.
        assert after[survivor] == before[survivor]
        assert not before[stuck] & set.union(*after.values())
        with ExitStack() as stack:
            for _ in range(CALLERS):
                keep_alive_caller(stack, port)
            assert all(established(pid, port) >= 1 for pid in after)


def test_a_stuck_process_takes_no_new_connection_from_the_moment_it_is_found(tmp_path: Path) -> None:
    """Its socket leaves the kernel's choice when it is found stuck, not when it dies: given 60
    graceful seconds, it would otherwise take its share of new connections, left waiting, for a
    minute more."""
    log = tmp_path / "web.log"
    with web_server(
        tmp_path, "--processes", "2", "--graceful", "60", WEB_HEARTBEAT_TIMEOUT_S=str(SILENT_AFTER_S)
    ) as (process, port):
        stuck, survivor = ready(process, port, tmp_path, processes=2)
        os.kill(stuck, signal.SIGSTOP)
        wait_until(
            lambda: f"(pid {stuck}) sent no heartbeat" in log.read_text(),
            timeout=SILENT_AFTER_S + 60,
            what="the stuck process to be found",
        )
        with ExitStack() as stack:
            # Each answered: one handed to the stuck process's socket would wait there, and time
            # out (half of them, without the shutdown).
            for _ in range(CALLERS):
                keep_alive_caller(stack, port)

        # Its loop goes on: it takes the SIGTERM it was sent, stops on its own, and is replaced.
        os.kill(stuck, signal.SIGCONT)
        wait_until(lambda: stuck not in serving(process.pid, port), timeout=60, what="the stuck one gone")
        after = ready(process, port, tmp_path, processes=2)
        assert survivor in after
        text = log.read_text()
        assert re.search(r"web process \d died \(killed by SIGTERM\); restarting it", text), text
        assert "did not stop" not in text
        assert "Invalid argument" not in text  # its loop did not spin on the shut-down socket


def test_a_stuck_process_is_killed_after_its_graceful_seconds_and_a_timeout_of_0_watches_none() -> None:
    assert heartbeat_policy(silent_after_s=30, graceful_s=5) == HeartbeatPolicy(
        silent_after_s=30, kill_after_s=7
    )
    assert heartbeat_policy(silent_after_s=0, graceful_s=5) is None


def test_healthy_idle_processes_are_never_taken_for_stuck_ones(tmp_path: Path) -> None:
    with web_server(tmp_path, "--processes", "2", WEB_HEARTBEAT_TIMEOUT_S=str(SILENT_AFTER_S)) as (
        process,
        port,
    ):
        before = ready(process, port, tmp_path, processes=2)
        time.sleep(2.5 * SILENT_AFTER_S)  # not a single request: only the heartbeats keep them
        assert serving(process.pid, port) == before
        text = (tmp_path / "web.log").read_text()
        assert "heartbeat" not in text
        assert "died" not in text
        with ExitStack() as stack:
            for _ in range(CALLERS):
                keep_alive_caller(stack, port)
            assert all(established(pid, port) >= 1 for pid in before)


def test_port_zero_is_refused(tmp_path: Path) -> None:
    command = [sys.executable, "manage.py", "web", "--port", "0", "--processes", str(PROCESSES)]
    done = subprocess.run(command, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "--port must be between 1 and 65535" in done.stderr


def test_a_port_in_use_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "manage.py", "web", "--port", str(port), "--processes", str(PROCESSES)]
        done = subprocess.run(command, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert f"127.0.0.1:{port} is in use" in done.stderr


def test_a_ctrl_c_reaches_the_processes_as_sigterm(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal's Ctrl-C reaches the processes directly too: forwarded as a second SIGINT it
    would make uvicorn drop open connections (and Celery stop cold)."""
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "kill", lambda pid, signum: sent.append((pid, signum)))
    group = ProcessGroup(start=lambda index, heartbeat_fd: 0, name="web")
    group.children = {101: 0, 102: 1}
    group._forward(signal.SIGINT, None)
    group._forward(signal.SIGINT, None)  # a second Ctrl-C: already stopping
    group._forward(signal.SIGQUIT, None)
    assert sent == [
        (101, signal.SIGTERM),
        (102, signal.SIGTERM),
        (101, signal.SIGQUIT),
        (102, signal.SIGQUIT),
    ]

"""The supervisor behind `manage.py up`, driven with tiny real child processes."""

import io
import os
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from console.supervisor import ChildFailed, ProcessSpec, StopRequested, StopSignals, Supervisor
from core.restarts import RestartPolicy, Restarts


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _supervisor(
    tmp_path: Path,
    out: io.StringIO,
    *,
    grace: float = 5.0,
    policy: RestartPolicy | None = None,
    clock: "FakeClock | None" = None,
) -> Supervisor:
    return Supervisor(
        out=out,
        env=dict(os.environ),
        cwd=tmp_path,
        stop_grace_s=grace,
        restart_policy=policy,
        monotonic=clock or time.monotonic,
    )


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _wait_until(predicate: Callable[[], bool], what: str, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_stop_kills_a_grandchild_that_ignores_sigterm(tmp_path: Path) -> None:
    """The leader exits on SIGTERM, but a grandchild that ignores it is SIGKILLed, not orphaned."""
    supervisor = _supervisor(tmp_path, io.StringIO(), grace=0.5)
    child = supervisor.start(
        ProcessSpec(
            "parent",
            _python(
                """
                import subprocess, sys, time
                stubborn = "import signal as s, time; s.signal(s.SIGTERM, s.SIG_IGN); time.sleep(60)"
                grandchild = subprocess.Popen([sys.executable, "-c", stubborn])
                print("grandchild", grandchild.pid, flush=True)
                time.sleep(60)
                """
            ),
            ready_line="grandchild",
        )
    )
    supervisor.wait_ready(child)
    grandchild_pid = int(next(line for line in child.last_lines if "grandchild" in line).split()[1])
    time.sleep(0.3)  # let the grandchild install its SIG_IGN before being signalled

    assert supervisor.stop() == ["parent"]
    assert _gone(child.pid)
    assert _gone(grandchild_pid)


def test_stop_terminates_well_behaved_children_without_sigkill(tmp_path: Path) -> None:
    supervisor = _supervisor(tmp_path, io.StringIO())
    code = "print('up', flush=True); import time; time.sleep(60)"
    children = [supervisor.start(ProcessSpec(n, _python(code), ready_line="up")) for n in ("one", "two")]
    for child in children:
        supervisor.wait_ready(child)

    assert supervisor.stop() == []
    assert [child.process.returncode for child in children] == [-signal.SIGTERM, -signal.SIGTERM]


def test_watch_gives_up_on_a_child_that_keeps_dying_and_names_it_with_its_last_lines(tmp_path: Path) -> None:
    """Restarts stop once deaths exceed the policy's count; the error names the child and its output."""
    out = io.StringIO()
    quick = RestartPolicy(first_delay_s=0.01, max_delay_s=0.01, max_deaths=2)
    supervisor = _supervisor(tmp_path, out, policy=quick)
    steady = supervisor.start(ProcessSpec("steady", _python("import time; time.sleep(60)")))
    code = "print('disk full', flush=True); raise SystemExit(3)"
    supervisor.start(ProcessSpec("fragile", _python(code)))

    with pytest.raises(ChildFailed) as failed:
        supervisor.watch()
    supervisor.stop()

    assert failed.value.child.spec.name == "fragile"
    description = failed.value.describe()
    assert description.startswith("fragile kept dying: 3 times within 60 s (exit code 3)")
    assert "disk full" in description
    assert out.getvalue().count("fragile died (exit code 3); restarting it in 0.01 s\n") == 2
    assert _gone(steady.pid)


def test_wait_ready_fails_when_the_child_exits_while_starting(tmp_path: Path) -> None:
    supervisor = _supervisor(tmp_path, io.StringIO())
    child = supervisor.start(
        ProcessSpec(
            "web",
            _python("print('address already in use'); raise SystemExit(1)"),
            ready_url="http://127.0.0.1:9/",
        )
    )

    with pytest.raises(ChildFailed, match="web exited while starting") as failed:
        supervisor.wait_ready(child)

    assert "address already in use" in failed.value.describe()


def test_output_is_relayed_with_the_name_once_relaying_starts(tmp_path: Path) -> None:
    """Start-up chatter is kept for error reports only; later lines are printed with their process name."""
    trigger = tmp_path / "go"
    out = io.StringIO()
    supervisor = _supervisor(tmp_path, out)
    child = supervisor.start(
        ProcessSpec(
            "worker",
            _python(
                f"""
                import pathlib, time
                print("banner", flush=True)
                while not pathlib.Path({str(trigger)!r}).exists():
                    time.sleep(0.02)
                print("task received", flush=True)
                time.sleep(60)
                """
            ),
            ready_line="banner",
        )
    )
    supervisor.wait_ready(child)
    supervisor.relay_output()
    trigger.touch()
    deadline = time.monotonic() + 10
    while "task received" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    supervisor.stop()

    assert "worker    | task received\n" in out.getvalue()
    assert "banner" not in out.getvalue()


def test_the_first_stop_signal_raises_and_repeats_are_ignored() -> None:
    with StopSignals() as signals:
        with pytest.raises(StopRequested, match="SIGTERM"):
            _signal_self(signal.SIGTERM)
        assert signals.stopping
        _signal_self(signal.SIGINT)  # must not interrupt the shutdown in progress


def _signal_self(signum: int) -> None:
    os.kill(os.getpid(), signum)
    time.sleep(0.2)  # the handler runs (and may raise) at the next bytecode


# The restart policy, on its own: deaths and starts at chosen monotonic times.


def _lifetimes(restarts: Restarts, *, start: float, uptime_s: float, deaths: int) -> list[float | None]:
    """Let a child die `deaths` times, each after `uptime_s` up; returns each restart delay."""
    delays: list[float | None] = []
    now = start
    for _ in range(deaths):
        now += uptime_s
        delay = restarts.died(at=now)
        delays.append(delay)
        if delay is None:
            break
        now += delay
        restarts.started(at=now)
    return delays


def test_restart_delays_double_from_one_second_up_to_the_cap() -> None:
    patient = RestartPolicy(max_deaths=100)
    restarts = Restarts(patient, started_at=0.0)

    delays = _lifetimes(restarts, start=0.0, uptime_s=2.0, deaths=7)

    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 16.0, 16.0]


def test_a_child_that_stayed_up_a_while_is_restarted_after_the_first_delay_again() -> None:
    patient = RestartPolicy(max_deaths=100)
    restarts = Restarts(patient, started_at=0.0)
    assert _lifetimes(restarts, start=0.0, uptime_s=2.0, deaths=4) == [1.0, 2.0, 4.0, 8.0]

    # Up for 29 s: still the doubled delay. Up for 30 s (stable_after_s): back to 1 s.
    assert _lifetimes(restarts, start=23.0, uptime_s=29.0, deaths=1) == [16.0]
    assert _lifetimes(restarts, start=68.0, uptime_s=30.0, deaths=2) == [1.0, 1.0]


def test_more_than_five_deaths_within_sixty_seconds_gives_up() -> None:
    restarts = Restarts(RestartPolicy(), started_at=0.0)

    delays = _lifetimes(restarts, start=0.0, uptime_s=0.5, deaths=6)

    # Deaths at 0.5, 2, 4.5, 9, 17.5 and 34: the sixth within the minute is one too many.
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, None]
    assert restarts.recent_deaths == 6


def test_deaths_older_than_the_window_no_longer_count() -> None:
    restarts = Restarts(RestartPolicy(), started_at=0.0)

    # A death every 25 s: at most three fall within any 60 s, so restarts go on.
    delays = _lifetimes(restarts, start=0.0, uptime_s=24.0, deaths=10)

    assert None not in delays
    assert restarts.recent_deaths <= 3


# The supervisor restarting real children, with a clock the test moves.


def test_a_dead_child_is_restarted_after_its_backoff_and_said_so_in_one_line(tmp_path: Path) -> None:
    """The death is one readable line (name, exit code, delay); the others are left alone."""
    out, clock = io.StringIO(), FakeClock()
    supervisor = _supervisor(tmp_path, out, clock=clock)
    steady = supervisor.start(ProcessSpec("steady", _python("import time; time.sleep(60)")))
    marker = tmp_path / "died-once"
    code = f"""
        import pathlib, sys, time
        marker = pathlib.Path({str(marker)!r})
        if not marker.exists():
            marker.touch()
            sys.exit(3)
        print("starting", flush=True)
        print("up", flush=True)
        time.sleep(60)
        """
    fragile = supervisor.start(ProcessSpec("fragile", _python(code), ready_line="up"))
    supervisor.relay_output()
    first_pid = fragile.pid
    fragile.process.wait(timeout=10)

    supervisor.check_children()
    assert out.getvalue() == "fragile died (exit code 3); restarting it in 1 s\n"
    clock.now += 0.9
    supervisor.check_children()
    assert fragile.pid == first_pid

    clock.now += 0.1
    supervisor.check_children()
    assert fragile.pid != first_pid

    def up_again() -> bool:
        supervisor.check_children()
        return "is up again" in out.getvalue()

    _wait_until(up_again, "the restarted child to be ready")
    supervisor.stop()

    # Its start-up chatter is kept for an error report, not printed, as at the first start.
    assert out.getvalue() == (
        f"fragile died (exit code 3); restarting it in 1 s\nfragile is up again (pid {fragile.pid})\n"
    )
    assert list(fragile.last_lines) == ["starting", "up"]
    assert steady.process.returncode == -signal.SIGTERM  # never restarted, stopped only at the end


def test_what_a_dead_child_left_in_its_group_is_killed_before_the_restart(tmp_path: Path) -> None:
    """A SIGKILLed Celery worker leaves its pool processes; they must not run beside the new one."""
    supervisor = _supervisor(tmp_path, io.StringIO(), clock=FakeClock())
    code = """
        import subprocess, sys, time
        pool = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        print("pool", pool.pid, flush=True)
        time.sleep(60)
        """
    child = supervisor.start(ProcessSpec("worker", _python(code), ready_line="pool"))
    supervisor.wait_ready(child)
    pool_pid = int(next(line for line in child.last_lines if "pool" in line).split()[1])

    os.kill(child.pid, signal.SIGKILL)
    child.process.wait(timeout=10)
    assert not _gone(pool_pid)
    supervisor.check_children()

    _wait_until(lambda: _gone(pool_pid), "the pool process to be killed")
    supervisor.stop()


def test_a_stop_signal_during_a_backoff_wait_stops_at_once(tmp_path: Path) -> None:
    """Ctrl-C while a child waits for its restart stops everything; nothing is restarted after."""
    out = io.StringIO()
    supervisor = _supervisor(tmp_path, out, policy=RestartPolicy(first_delay_s=3600))
    steady = supervisor.start(ProcessSpec("steady", _python("import time; time.sleep(60)")))
    fragile = supervisor.start(ProcessSpec("fragile", _python("raise SystemExit(1)")))
    first_pid = fragile.pid

    def interrupt_once_waiting() -> None:
        _wait_until(lambda: "restarting it in 3600 s" in out.getvalue(), "the backoff wait")
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_once_waiting, daemon=True).start()
    with StopSignals(), pytest.raises(StopRequested, match="SIGINT"):
        supervisor.watch()
    supervisor.stop()

    assert fragile.pid == first_pid
    assert _gone(steady.pid)

"""The supervisor behind `manage.py up`, driven with tiny real child processes."""

import io
import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from console.supervisor import ChildFailed, ProcessSpec, StopRequested, StopSignals, Supervisor


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _supervisor(tmp_path: Path, out: io.StringIO, *, grace: float = 5.0) -> Supervisor:
    return Supervisor(out=out, env=dict(os.environ), cwd=tmp_path, stop_grace_s=grace)


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


def test_watch_names_the_child_that_died_with_its_last_lines(tmp_path: Path) -> None:
    supervisor = _supervisor(tmp_path, io.StringIO())
    steady = supervisor.start(ProcessSpec("steady", _python("import time; time.sleep(60)")))
    code = "import time; time.sleep(0.3); print('disk full', flush=True); raise SystemExit(3)"
    supervisor.start(ProcessSpec("fragile", _python(code)))

    with pytest.raises(ChildFailed) as failed:
        supervisor.watch()
    supervisor.stop()

    assert failed.value.child.spec.name == "fragile"
    description = failed.value.describe()
    assert description.startswith("fragile stopped unexpectedly (exit code 3)")
    assert "disk full" in description
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

"""Run a handful of child processes as one unit, the way `manage.py up` needs them.

Each child gets its own process group, so a Ctrl-C in the terminal reaches only the
supervisor, which then stops the children in order; signalling the whole group also
reaches grandchildren (Celery's pool processes), so nothing is left behind. A child that
dies is restarted after a backoff (core.restarts); one that keeps dying stops them all.
"""

import contextlib
import io
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any, cast

from core.restarts import RestartPolicy, Restarts

LAST_LINES = 20
_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None
_COLOURS = ("36", "35", "33", "32", "34", "31")


@dataclass(frozen=True)
class ProcessSpec:
    """A child to run. It is ready once ready_url answers over HTTP, or once it prints ready_line."""

    name: str
    argv: list[str]
    ready_url: str | None = None
    ready_line: str | None = None
    ready_timeout_s: float = 60.0


class StopRequested(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signal_name = signal.Signals(signum).name


class ChildFailed(Exception):
    def __init__(self, child: "Child", reason: str) -> None:
        super().__init__(f"{child.spec.name} {reason}")
        self.child = child
        self.reason = reason

    def describe(self) -> str:
        lines = list(self.child.last_lines) or ["(it printed nothing)"]
        tail = "\n".join(f"    {line}" for line in lines)
        return f"{self} ({self.child.exit_description()}); its last lines:\n{tail}"


class Child:
    """A spec and its current process; a restart replaces the process, not the Child."""

    def __init__(
        self, spec: ProcessSpec, process: subprocess.Popen[bytes], colour: str, restarts: Restarts
    ) -> None:
        self.spec = spec
        self.process = process
        self.colour = colour
        self.restarts = restarts
        self.last_lines: deque[str] = deque(maxlen=LAST_LINES)
        self.printed_ready_line = threading.Event()
        self.relay: threading.Thread | None = None
        self.restart_at: float | None = None  # monotonic time of a pending restart
        self.restarted = False  # from a restart until it is ready again

    @property
    def pid(self) -> int:
        return self.process.pid

    def is_ready(self) -> bool:
        if self.spec.ready_url is not None:
            # urllib rather than httpx: httpx logs every request, which would clutter start-up.
            try:
                with urllib.request.urlopen(self.spec.ready_url, timeout=1.0):  # noqa: S310 - the caller's own http URL
                    return True
            except urllib.error.HTTPError:
                return True  # any HTTP answer means the server is listening
            except OSError:
                return False
        return self.printed_ready_line.is_set()

    def group_alive(self) -> bool:
        # Reap the leader first: an unreaped zombie would keep its group "alive".
        self.process.poll()
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def exit_description(self) -> str:
        code = self.process.poll()
        if code is None:
            return "still running"
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"


class Supervisor:
    def __init__(
        self,
        *,
        out: io.TextIOBase,
        env: Mapping[str, str],
        cwd: Path,
        stop_grace_s: float = 10.0,
        restart_policy: RestartPolicy | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out = out
        self.env = dict(env)
        self.cwd = cwd
        self.stop_grace_s = stop_grace_s
        self.restart_policy = restart_policy or RestartPolicy()
        self.monotonic = monotonic
        self.children: list[Child] = []
        self._echo = threading.Event()
        self._out_lock = threading.Lock()
        self._colour = out.isatty()
        self._name_width = 0

    def start(self, spec: ProcessSpec) -> Child:
        restarts = Restarts(self.restart_policy, started_at=self.monotonic())
        child = Child(spec, self._spawn(spec), _COLOURS[len(self.children) % len(_COLOURS)], restarts)
        self.children.append(child)
        self._name_width = max(self._name_width, len(spec.name))
        self._start_relay(child)
        return child

    def wait_ready(self, child: Child) -> None:
        deadline = time.monotonic() + child.spec.ready_timeout_s
        while not child.is_ready():
            if child.process.poll() is not None:
                raise ChildFailed(child, "exited while starting")
            if time.monotonic() > deadline:
                raise ChildFailed(child, f"was not ready after {child.spec.ready_timeout_s:.0f} s")
            time.sleep(0.1)

    def say(self, text: str) -> None:
        with self._out_lock:
            self.out.write(text if text.endswith("\n") else text + "\n")
            self.out.flush()

    def relay_output(self) -> None:
        """From now on, print the children's output live (start-up chatter stays in last_lines)."""
        self._echo.set()

    def watch(self) -> None:
        """Block, restarting children that die, until one keeps dying (ChildFailed) or a signal stops it."""
        while True:
            self.check_children()
            time.sleep(0.2)

    def check_children(self) -> None:
        """One round of watch(): note deaths, restart those whose backoff is over, report them ready."""
        now = self.monotonic()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._restart(child, now)
            elif child.process.poll() is not None:
                self._schedule_restart(child, now)
            elif child.restarted and child.is_ready():
                child.restarted = False
                self.say(f"{child.spec.name} is up again (pid {child.pid})")

    def stop(self) -> list[str]:
        """SIGTERM every child's group, wait, SIGKILL what is left. Returns the names that needed SIGKILL."""
        running = [child for child in self.children if child.group_alive()]
        _signal_and_wait(running, signal.SIGTERM, self.stop_grace_s)
        stragglers = [child for child in running if child.group_alive()]
        _signal_and_wait(stragglers, signal.SIGKILL, 5.0)
        for child in self.children:
            child.process.wait(timeout=5)
            if child.relay is not None:
                child.relay.join(timeout=2)
        return [child.spec.name for child in stragglers]

    def _spawn(self, spec: ProcessSpec) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - argv built by the caller from fixed parts
            spec.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,
        )

    def _start_relay(self, child: Child) -> None:
        child.relay = threading.Thread(target=self._relay, args=(child, child.process), daemon=True)
        child.relay.start()

    def _schedule_restart(self, child: Child, now: float) -> None:
        # What the dead leader left in its group (Celery's pool processes) must not run on
        # beside the replacement.
        child.signal_group(signal.SIGKILL)
        delay_s = child.restarts.died(at=now)
        if delay_s is None:
            deaths, window_s = child.restarts.recent_deaths, self.restart_policy.death_window_s
            raise ChildFailed(child, f"kept dying: {deaths} times within {window_s:g} s")
        child.restart_at = now + delay_s
        self.say(f"{child.spec.name} died ({child.exit_description()}); restarting it in {delay_s:g} s")

    def _restart(self, child: Child, now: float) -> None:
        child.restart_at = None
        child.printed_ready_line.clear()
        child.process = self._spawn(child.spec)
        child.restarts.started(at=now)
        child.restarted = True
        self._start_relay(child)

    def _relay(self, child: Child, process: subprocess.Popen[bytes]) -> None:
        # stdout=PIPE in _spawn() guarantees the stream. The process is passed in: after a
        # restart, child.process is already the next one while this relay drains the old pipe.
        for raw in cast(IO[bytes], process.stdout):
            line = raw.decode(errors="replace").rstrip()
            child.last_lines.append(line)
            ready = child.spec.ready_line is not None and child.spec.ready_line in line
            if ready and process is child.process:
                child.printed_ready_line.set()
            # A restarted child's start-up chatter stays in last_lines too, as at the first start.
            if self._echo.is_set() and not child.restarted:
                self.say(f"{self._prefix(child)}{line}")

    def _prefix(self, child: Child) -> str:
        label = f"{child.spec.name:<{max(self._name_width, 9)}} | "
        if not self._colour:
            return label
        return f"\033[{child.colour}m{label}\033[0m"


def _signal_and_wait(children: list[Child], signum: int, timeout_s: float) -> None:
    """Signal each child's whole group, then wait until the groups are empty or time is up."""
    for child in children:
        child.signal_group(signum)
    deadline = time.monotonic() + timeout_s
    while any(child.group_alive() for child in children) and time.monotonic() < deadline:
        time.sleep(0.05)


class StopSignals:
    """While entered, the first SIGINT, SIGTERM or SIGHUP raises StopRequested in the main thread.

    Once `stopping` is set (by that first signal, or by the caller before it shuts down for
    another reason), further signals are only acknowledged: a second Ctrl-C must not interrupt
    the shutdown it asked for, or children would be orphaned.
    """

    WATCHED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.stopping = False
        self._previous: dict[int, _Handler] = {}

    def __enter__(self) -> "StopSignals":
        self._previous = {signum: signal.signal(signum, self._handle) for signum in self.WATCHED}
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, old in self._previous.items():
            signal.signal(signum, old)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:
            os.write(2, b"already stopping, please wait...\n")
            return
        self.stopping = True
        raise StopRequested(signum)

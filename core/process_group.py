"""A parent that keeps a fixed set of processes up: the supervising half of `manage.py worker`
and of `manage.py web` (console/web_group.py).

It forwards SIGTERM / SIGINT / SIGQUIT (Celery's warm, warm and cold shutdown) to its children
and waits for them; it starts again a child that dies unasked, with the same backoff `manage.py
up` uses (core/restarts.py), and gives up, stopping the rest, if one keeps dying. In a group with
heartbeats (the web server's) it also stops a child whose heartbeats stop (core/heartbeats.py):
SIGTERM, then SIGKILL, and the child is started again as one that died. A child dies
with its parent (PR_SET_PDEATHSIG on Linux): a SIGKILLed parent leaves no orphan consuming the
queue, and whoever restarts the parent starts a whole worker.

The worker's parent forks its processes from everything it loaded, then replaces itself
(`exec`) with a bare interpreter running `supervisor_main`, which imports only this module, the
two of core it uses and the standard library. Had it stayed, every page both processes wrote
since the fork (reference counts in code objects, strings, types…) would have a third copy, the
parent's original, that nothing uses: ~60 MB of a two-process worker's PSS (bench/README.md,
step_overhead, "Stop 23").
"""

import contextlib
import ctypes
import json
import logging
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any, NoReturn

from core.heartbeats import HeartbeatPolicy, Pulse, heartbeat_env
from core.restarts import RestartPolicy, Restarts

logger = logging.getLogger("tollgate.process_group")

_PR_SET_PDEATHSIG = 1
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)


def die_with_parent() -> None:
    """In a child: be sent SIGTERM when the parent ends (PR_SET_PDEATHSIG)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: a SIGKILLed parent leaves its children to finish their warm shutdown


class ProcessGroup:
    """Keeps one child per index up: `start(index, heartbeat_fd)` starts it and returns its pid.

    With a `heartbeat` policy, `heartbeat_fd` is the write end of a pipe the child is to beat on
    (core/heartbeats.py: `start` hands it on) and a child that stays silent is stopped, then
    killed, and started again like any child that died; without one it is None."""

    def __init__(
        self,
        *,
        start: Callable[[int, int | None], int],
        name: str = "worker",
        died: Callable[[int], None] | None = None,
        policy: RestartPolicy | None = None,
        heartbeat: HeartbeatPolicy | None = None,
        stuck: Callable[[int], None] | None = None,
    ) -> None:
        self.start = start
        self.name = name  # what the log lines call the group: "worker", "web"
        self.died = died  # told of a child's death as soon as it is seen, before any delay
        self.policy = policy or RestartPolicy()
        self.heartbeat = heartbeat
        self.stuck = stuck  # told of a child that fell silent as it is stopped, before it dies
        self.children: dict[int, int] = {}  # pid -> index
        self.restarts: dict[int, Restarts] = {}
        self.restart_at: dict[int, float] = {}  # index -> when a child that died is started again
        self.pulses: dict[int, Pulse] = {}  # pid -> its heartbeats (a group with a heartbeat policy)
        self.stopping: int | None = None  # the signal asked to stop with
        self.code = 0  # what `supervise` returns: 1 once it gave up on a child that kept dying

    def adopt(self, pid: int, index: int) -> None:
        """A child started by this process before it became the supervisor."""
        self.children[pid] = index
        self.restarts[index] = Restarts(self.policy, started_at=time.monotonic())

    def spawn(self, index: int) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        now = time.monotonic()
        if self.heartbeat is None:
            pid = self.start(index, None)
        else:
            read_fd, write_fd = os.pipe()
            os.set_blocking(read_fd, False)
            try:
                pid = self.start(index, write_fd)
            except BaseException:
                os.close(read_fd)
                raise
            finally:
                os.close(write_fd)  # the child's alone, so that its death ends the pipe
            self.pulses[pid] = Pulse(self.heartbeat, fd=read_fd, started_at=now)
        self.children[pid] = index
        if index in self.restarts:
            self.restarts[index].started(at=now)
        else:
            self.restarts[index] = Restarts(self.policy, started_at=now)
        if self.stopping is not None:
            # A stop that came while this child was being started passed it by: it is told now.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, _sent(self.stopping))

    def _forward(self, signum: int, _frame: Any) -> None:
        if self.stopping is None or signum != self.stopping:
            self.stopping = signum
            for pid in list(self.children):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, _sent(signum))

    def supervise(self) -> int:
        """Wait for the children, starting again those that die unasked and stopping those whose
        heartbeats stop; returns the exit code."""
        for signum in FORWARDED:
            signal.signal(signum, self._forward)
        wakeup_fd = _signal_wakeup_fd()
        while True:
            now = time.monotonic()
            self._reap(now)
            if self.stopping is not None:
                self.restart_at.clear()
            for index, at in list(self.restart_at.items()):
                if at <= now:
                    del self.restart_at[index]
                    self.spawn(index)
            if not self.children and not self.restart_at:
                return self.code
            # Also while stopping: a stuck child would otherwise hold the stop forever.
            self._signal_silent(now)
            self._wait(wakeup_fd, now)

    def _reap(self, now: float) -> None:
        """Handle every child that ended since the last call."""
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:  # none left, whatever `children` says
                for pid in list(self.children):
                    self._forget(pid)
                return
            if pid == 0:
                return
            index = self._forget(pid)
            if index < 0 or self.stopping is not None:
                continue
            if self.died is not None:
                self.died(index)
            delay_s = self.restarts[index].died(at=now)
            how = _death(status)
            if delay_s is None:
                logger.error(
                    "%s process %d died (%s) too often; stopping the %s", self.name, index, how, self.name
                )
                self.code = 1
                self._forward(signal.SIGTERM, None)
                continue
            logger.warning("%s process %d died (%s); restarting it in %g s", self.name, index, how, delay_s)
            self.restart_at[index] = now + delay_s

    def _forget(self, pid: int) -> int:
        """Drop an ended child; returns its index (-1 for a pid that was none of them)."""
        pulse = self.pulses.pop(pid, None)
        if pulse is not None and pulse.fd is not None:
            os.close(pulse.fd)
        return self.children.pop(pid, -1)

    def _signal_silent(self, now: float) -> None:
        """SIGTERM the children whose heartbeats stopped, SIGKILL those it did not end."""
        for pid, pulse in self.pulses.items():
            signum = pulse.due(at=now)
            if signum is None:
                continue
            index = self.children[pid]
            if signum == signal.SIGTERM:
                logger.warning(
                    "%s process %d (pid %d) sent no heartbeat for %.0f s: its event loop is stuck; "
                    "stopping it (SIGKILL in %g s)",
                    self.name,
                    index,
                    pid,
                    now - pulse.last_at,
                    pulse.policy.kill_after_s,
                )
                if self.stuck is not None:
                    self.stuck(index)
            else:
                logger.warning("%s process %d (pid %d) did not stop; killing it", self.name, index, pid)
            # Not reaped yet (its pulse would be gone), so the pid is still this child's.
            os.kill(pid, signum)

    def _wait(self, wakeup_fd: int, now: float) -> None:
        """Until a signal (a child that ended, a stop), a heartbeat, or the next thing due."""
        due = [*self.restart_at.values(), *(pulse.next_at() for pulse in self.pulses.values())]
        times = [at for at in due if at is not None]
        timeout_s = max(0.0, min(times) - now) if times else None
        beating = {pulse.fd: pulse for pulse in self.pulses.values() if pulse.fd is not None}
        readable, _, _ = select.select([wakeup_fd, *beating], [], [], timeout_s)
        now = time.monotonic()
        for fd in readable:
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                continue
            pulse = beating.get(fd)
            if pulse is None:
                continue  # the wakeup pipe: read only to be emptied
            if data:
                pulse.beat(at=now)
            else:  # the child closed its end: ending, or silent from now on
                os.close(fd)
                pulse.fd = None


def _sent(signum: int) -> int:
    """The signal a child gets for `signum`. A Ctrl-C in a terminal reaches the children too (one
    process group): a second SIGINT would make uvicorn drop its open connections and Celery stop
    cold, so they are sent SIGTERM instead, which both take as the same graceful stop."""
    return signal.SIGTERM if signum == signal.SIGINT else signum


def _signal_wakeup_fd() -> int:
    """The read end of a pipe that each signal with a handler makes readable, so that `select`
    wakes for a child that ended (SIGCHLD) as for a beat."""
    read_fd, write_fd = os.pipe()
    for fd in (read_fd, write_fd):
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(write_fd)
    # The interpreter writes to the wakeup pipe only for a signal with a handler of its own; a
    # child that ended before this is reaped by the WNOHANG wait that precedes every select.
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
    return read_fd


def _death(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def exec_started(
    argv: list[str], cwd: str, keep_fds: Sequence[int] = (), env: Mapping[str, str] | None = None
) -> int:
    """Fork and exec `argv` as a child that dies with this process; returns its pid. The child
    gets no open file of this process but its standard streams and `keep_fds`, and this
    process's environment with `env` added."""
    pid = os.fork()
    if pid == 0:
        try:
            for signum in FORWARDED:
                signal.signal(signum, signal.SIG_DFL)
            die_with_parent()
            os.chdir(cwd)
            _close_fds_but(keep_fds)
            os.execve(argv[0], argv, {**os.environ, **(env or {})})  # noqa: S606 - our own argv, no shell
        finally:
            os._exit(127)
    return pid


def _close_fds_but(keep: Sequence[int]) -> None:
    # What subprocess's close_fds does: a web process, say, must not hold its siblings' sockets.
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        os.set_inheritable(fd, True)
        low = max(low, fd + 1)
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


def address_family(host: str) -> socket.AddressFamily:
    """As uvicorn binds: IPv6 when the address has a colon."""
    return socket.AF_INET6 if ":" in host else socket.AF_INET


# uvicorn's own default: connections a socket queues before the kernel refuses more.
BACKLOG = 2048


def listening_socket_at(fd: int | None, host: str, port: int) -> int:
    """A TCP socket listening on host:port beside others of the same address (SO_REUSEPORT),
    inheritable; on descriptor `fd` when given. Returns its descriptor."""
    sock = socket.socket(address_family(host))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    if fd is None or fd == sock.fileno():  # the lowest free descriptor may be the one asked for
        sock.set_inheritable(True)
        return sock.detach()
    os.dup2(sock.fileno(), fd, inheritable=True)
    sock.close()
    return fd


def supervisor_exec(
    *,
    name: str,
    children: dict[int, int],
    restart_argvs: list[list[str]],
    cwd: str,
    restart_fds: list[list[int]] | None = None,
    listen: tuple[str, int] | None = None,
    heartbeat: HeartbeatPolicy | None = None,
) -> NoReturn:
    """Replace this process with a bare interpreter supervising `children` (pid -> index) and
    starting the indexes of `restart_argvs` that have none; a child that dies is replaced by
    `restart_argvs[index]`, run in `cwd` with the open files
    `restart_fds[index]` (which must be inheritable, to outlive this exec). With `listen` (host,
    port), each child's first kept file is its listening socket on that address (SO_REUSEPORT):
    closed as soon as the child dies (shut down as soon as it is found stuck), so that the kernel
    hands new connections to the sockets still served, and bound again on the same descriptor for
    its replacement. `name` stays a whole argument of its command line, so that `ps` and whoever
    looks for the process by it (the tests of `manage.py up`) still find it. With `heartbeat`,
    each child started from here is given a pipe to beat on (core/heartbeats.py) and stopped when
    it falls silent. Never returns.

    A signal that arrives before the supervisor has installed its handlers ends it (their
    default action), and the children, told by PR_SET_PDEATHSIG, stop warm."""
    state = json.dumps(
        {
            "name": name,
            "children": children,
            "restart_argvs": restart_argvs,
            "restart_fds": restart_fds or [[] for _ in restart_argvs],
            "listen": listen,
            "heartbeat": None if heartbeat is None else asdict(heartbeat),
            "cwd": cwd,
        }
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = (
        f"import sys; sys.path.insert(0, {root!r}); "
        "from core.process_group import supervisor_main; sys.exit(supervisor_main(sys.argv[2]))"
    )
    sys.stdout.flush()
    sys.stderr.flush()
    # -S: no site-packages, whose path hooks alone cost a few MB; -I would drop the environment,
    # which the children restarted from here need.
    os.execv(sys.executable, [sys.executable, "-S", "-c", code, name, state])  # noqa: S606 - no shell


def supervisor_main(state_json: str) -> int:
    state = json.loads(state_json)
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="[%(asctime)s: %(levelname)s/supervisor] %(message)s"
    )
    argvs: list[list[str]] = state["restart_argvs"]
    fds: list[list[int]] = state["restart_fds"]
    listen: list[Any] | None = state["listen"]
    heartbeat = None if state["heartbeat"] is None else HeartbeatPolicy(**state["heartbeat"])
    closed: set[int] = set()
    # Put on a closed socket's descriptor until its replacement is bound there: left free, the
    # number would go to the next file opened (the replacement's heartbeat pipe, opened first),
    # which the new socket would then silently replace.
    placeholder = os.open(os.devnull, os.O_RDONLY)

    def start(index: int, heartbeat_fd: int | None) -> int:
        if listen is not None and index in closed:
            listening_socket_at(fds[index][0], listen[0], listen[1])
            closed.discard(index)
        if heartbeat is None or heartbeat_fd is None:
            return exec_started(argvs[index], state["cwd"], fds[index])
        env = heartbeat_env(heartbeat_fd, heartbeat)
        return exec_started(argvs[index], state["cwd"], [*fds[index], heartbeat_fd], env)

    def stuck(index: int) -> None:
        if listen is not None:
            # Out of the kernel's choice at once, though the stuck child still holds it: new
            # connections go to the other processes until it is gone, and those its backlog
            # holds are reset, not left waiting for a process that may never accept them.
            # Should it fail, the socket is served until the child dies, as a dead one's was.
            with contextlib.suppress(OSError), socket.socket(fileno=os.dup(fds[index][0])) as sock:
                sock.shutdown(socket.SHUT_RD)

    def died(index: int) -> None:
        if listen is not None:
            os.dup2(placeholder, fds[index][0], inheritable=False)  # closes the socket
            closed.add(index)

    group = ProcessGroup(start=start, name=state["name"], died=died, heartbeat=heartbeat, stuck=stuck)
    for pid, index in state["children"].items():
        group.adopt(int(pid), index)
    for index in range(len(argvs)):
        if index not in group.restarts:  # none started before the exec: started from here
            group.spawn(index)
    return group.supervise()

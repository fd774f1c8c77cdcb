"""Heartbeats from a supervised child to its supervisor (core/process_group.py), for children
whose work is an event loop: the web server's processes (console/web_group.py).

A child that dies is seen by its supervisor; one whose event loop is stuck (a blocking call in
async code, a deadlock, a thread that holds the interpreter lock, a SIGSTOP) is alive and keeps
its listening socket, so the kernel goes on handing it its share of new connections, which wait
forever. So the child writes a byte on a pipe from a callback of its event loop, which runs only
while the loop turns, and the supervisor stops a child silent for too long. (uvicorn's own
`--workers` supervisor pings its processes, but a thread of theirs answers: a loop stuck in a
call that releases the interpreter lock still answers it.)

The supervisor's half is plain bookkeeping over monotonic timestamps handed in by the caller,
like core/restarts.py, so tests drive it without sleeping. The child learns of its pipe from
its environment (`heartbeat_env`): only a child started with one beats.
"""

import os
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the supervisor, a bare interpreter, imports this module: no asyncio there
    import asyncio

# A child beats this many times in a silence that gets it stopped: one beat late (a long
# garbage collection, a burst of CPU-bound work on a busy machine) never is.
BEATS_PER_SILENCE = 6

FD_ENV = "SUPERVISOR_HEARTBEAT_FD"
EVERY_ENV = "SUPERVISOR_HEARTBEAT_EVERY_S"


@dataclass(frozen=True)
class HeartbeatPolicy:
    silent_after_s: float  # a child that sent nothing for this long is stopped (SIGTERM)
    kill_after_s: float  # and SIGKILLed if it is still there this long after

    @property
    def every_s(self) -> float:
        return self.silent_after_s / BEATS_PER_SILENCE


def heartbeat_env(fd: int, policy: HeartbeatPolicy) -> dict[str, str]:
    """What a child's environment gets so that it beats on the pipe's write end `fd`."""
    return {FD_ENV: str(fd), EVERY_ENV: repr(policy.every_s)}


class Pulse:
    """One child's heartbeats as its supervisor sees them, and the signal it is owed."""

    def __init__(self, policy: HeartbeatPolicy, *, fd: int, started_at: float) -> None:
        self.policy = policy
        self.fd: int | None = fd  # the pipe's read end; None once the child closed its end
        # From its start: a child that hangs before its loop first turns is stopped as well.
        self.last_at = started_at
        self.stopped_at: float | None = None
        self.killed = False

    def beat(self, *, at: float) -> None:
        self.last_at = at

    def due(self, *, at: float) -> signal.Signals | None:
        """The signal to send the child at `at`, if any; each is owed once."""
        if self.stopped_at is None:
            if at - self.last_at < self.policy.silent_after_s:
                return None
            # Beats that come after this are ignored: the child is on its way out.
            self.stopped_at = at
            return signal.SIGTERM
        if self.killed or at - self.stopped_at < self.policy.kill_after_s:
            return None
        self.killed = True
        return signal.SIGKILL

    def next_at(self) -> float | None:
        """When `due` may next owe a signal; None once it owed both."""
        if self.stopped_at is None:
            return self.last_at + self.policy.silent_after_s
        return None if self.killed else self.stopped_at + self.policy.kill_after_s


def heartbeat_start(loop: "asyncio.AbstractEventLoop") -> None:
    """In a child: beat from `loop` if its supervisor gave it a pipe (its environment says)."""
    if FD_ENV not in os.environ:
        return
    # Not left for a process this one starts, which would not have the descriptor.
    fd, every_s = int(os.environ.pop(FD_ENV)), float(os.environ.pop(EVERY_ENV))
    # A supervisor behind on reading must never block the loop on a full pipe.
    os.set_blocking(fd, False)

    def beat() -> None:
        try:
            os.write(fd, b".")
        except BlockingIOError:
            pass  # the pipe is full of beats not read yet: this one adds nothing
        except BrokenPipeError:
            return  # the supervisor is gone, and this process was sent SIGTERM with it
        loop.call_later(every_s, beat)

    loop.call_soon(beat)

"""Evaluating a condition in a child process with a hard timeout.

The CEL library holds the GIL while it evaluates, so a thread with a timeout cannot stop it and
every other thread of the process waits (a 916-character condition once froze a web process for
147 s). A child process can be killed. Each web or worker process keeps a few long-lived
children (sandbox_child.py), hands one to one evaluation at a time, and kills and replaces a
child that overruns or dies; the waiting thread sleeps in poll() without the GIL.
"""

import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

CHILD = Path(__file__).with_name("sandbox_child.py")
# Children per process: an evaluation takes well under a millisecond, so threads rarely queue;
# under a flood of slow conditions the rest wait at most their own budget, then fail closed.
MAX_CHILDREN = 4
START_TIMEOUT_S = 10.0
READ_CHUNK = 65_536


class SandboxError(Exception):
    """The child did not answer in time, died, or answered nonsense."""


class _Child:
    def __init__(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter and a file of the project
            [sys.executable, "-I", str(CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
            close_fds=True,
        )
        stdin, stdout = self.process.stdin, self.process.stdout
        if stdin is None or stdout is None:  # never with PIPE; narrows the types
            raise SandboxError("no pipes to the condition evaluator")
        self._in = stdin.fileno()
        self._out = stdout.fileno()
        self._poll = select.poll()
        self._poll.register(self._out, select.POLLIN)
        self._buffer = b""
        try:
            self._read_line(time.monotonic() + START_TIMEOUT_S)
        except (OSError, SandboxError):
            self.close()
            raise

    def ask(self, line: bytes, deadline: float) -> dict[str, Any]:
        try:
            os.write(self._in, line)
        except OSError as exc:
            raise SandboxError("the condition evaluator stopped") from exc
        reply = json.loads(self._read_line(deadline))
        if not isinstance(reply, dict):
            raise SandboxError("the condition evaluator answered nonsense")
        return reply

    def _read_line(self, deadline: float) -> bytes:
        while b"\n" not in self._buffer:
            remaining_ms = (deadline - time.monotonic()) * 1000
            if remaining_ms <= 0 or not self._poll.poll(remaining_ms):
                raise SandboxError("timed out")
            chunk = os.read(self._out, READ_CHUNK)
            if not chunk:
                raise SandboxError("the condition evaluator stopped (out of memory or crashed)")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class Sandbox:
    """A process's pool of evaluator children; safe to call from many threads."""

    def __init__(self, size: int = MAX_CHILDREN) -> None:
        self._idle: list[_Child] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)

    def evaluate(self, *, source: str, facts_json: str, deadline: float) -> dict[str, Any]:
        """The child's answer for `source` on the encoded facts; SandboxError if none came by
        `deadline` (time.monotonic()), in which case the child was killed."""
        if not self._slots.acquire(timeout=max(deadline - time.monotonic(), 0)):
            raise SandboxError("no condition evaluator was free in time")
        try:
            started = time.monotonic()
            child = self._take()
            # Starting a child is this process's cost, not the condition's: it does not count.
            deadline += time.monotonic() - started
            line = f'{{"source": {json.dumps(source)}, "facts": {facts_json}}}\n'.encode()
            try:
                reply = child.ask(line, deadline)
            except (SandboxError, ValueError):
                child.close()
                raise
            with self._lock:
                self._idle.append(child)
            return reply
        finally:
            self._slots.release()

    def _take(self) -> _Child:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        try:
            return _Child()
        except (OSError, SandboxError, ValueError) as exc:
            raise SandboxError(f"the condition evaluator did not start: {exc}") from exc


_sandbox = Sandbox()


def _forget_after_fork() -> None:
    # A forked child (Celery's prefork pool) must not share its parent's pipes to evaluators.
    global _sandbox
    _sandbox = Sandbox()


os.register_at_fork(after_in_child=_forget_after_fork)


def sandbox() -> Sandbox:
    return _sandbox

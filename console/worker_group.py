"""A Celery worker of several processes, forked from one parent that loaded everything first.

Each process runs Celery's threads pool: its threads wait on models and tools without holding
a process. But one process runs Python on one core at a time (the interpreter lock), and under
the concurrency benchmark a lone worker process was the bottleneck of a 2-core machine: its
steps queued for the lock while the machine had a third of its CPU idle (bench/README.md,
"concurrency"). So a worker is WORKER_PROCESSES processes (default: one per core), each running
its share of WORKER_CONCURRENCY threads.

Started side by side, each process would load its own copy of Django, the Celery app, the
embedding model and the rest (~210 MB). Forked from a parent that loaded them once, they share
those pages until a process writes to them: `gc.freeze()` keeps the collector from touching
them, and the embedding model's tokenizer runs without its own thread pool so that it survives
the fork (agents/embeddings/local.py).

The parent only supervises: it forwards SIGTERM / SIGINT / SIGQUIT (Celery's warm, warm and cold
shutdown) to its children and waits for them; it re-forks a child that dies unasked, with the
same backoff `manage.py up` uses (console/restarts.py), and gives up, stopping the rest, if one
keeps dying. A child dies with its parent (PR_SET_PDEATHSIG on Linux): a SIGKILLed parent
leaves no orphan consuming the queue, and whoever restarts the parent starts a whole worker.
"""

import contextlib
import ctypes
import gc
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from console.restarts import RestartPolicy, Restarts

logger = logging.getLogger("tollgate.worker")

_PR_SET_PDEATHSIG = 1
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)


def per_process_concurrency(concurrency: int, processes: int) -> int:
    """Each process's threads: the worker's WORKER_CONCURRENCY shared out, rounded up."""
    return -(-concurrency // processes)


def celery_worker_argv(*, queue: str, concurrency: int, loglevel: str, index: int) -> list[str]:
    """The arguments of one process's `celery worker`."""
    return [
        "worker",
        f"--loglevel={loglevel}",
        "-Q",
        queue,
        "--concurrency",
        str(concurrency),
        # Runs are handed over through the database (leases), never through Celery's remote
        # control or revocation: mingle and gossip would only cost each process's start a
        # round of messages with its siblings.
        "--without-mingle",
        "--without-gossip",
        "--hostname",
        f"worker{index}@%h",
    ]


def preload() -> None:
    """Import and warm what every step uses, once, in the parent."""
    from django.db import connections

    from agents.embeddings.local import embedding_model_preload
    from console.celery import app

    app.loader.import_default_modules()
    embedding_model_preload()
    # No connection may cross the fork: each child opens its own pool.
    for connection in connections.all(initialized_only=True):
        connection.close()
        close_pool = getattr(connection, "close_pool", None)
        if close_pool is not None:
            close_pool()
    gc.collect()
    gc.freeze()


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: a SIGKILLed parent leaves its children to finish their warm shutdown


def _child_main(argv: list[str]) -> None:
    _die_with_parent()
    for signum in _FORWARDED:
        signal.signal(signum, signal.SIG_DFL)  # Celery installs its own
    from console.celery import app

    code = 0
    try:
        app.worker_main(argv)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


class WorkerGroup:
    """The parent: forks `processes` children, each running `argv_of(index)`, and keeps them up."""

    def __init__(
        self,
        *,
        processes: int,
        argv_of: Callable[[int], list[str]],
        policy: RestartPolicy | None = None,
        fork: Callable[[], int] = os.fork,
    ) -> None:
        self.processes = processes
        self.argv_of = argv_of
        self.policy = policy or RestartPolicy()
        self.fork = fork
        self.children: dict[int, int] = {}  # pid -> index
        self.restarts: dict[int, Restarts] = {}
        self.stopping: int | None = None  # the signal asked to stop with

    def _spawn(self, index: int) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = self.fork()
        if pid == 0:
            _child_main(self.argv_of(index))
        self.children[pid] = index
        now = time.monotonic()
        if index in self.restarts:
            self.restarts[index].started(at=now)
        else:
            self.restarts[index] = Restarts(self.policy, started_at=now)

    def _forward(self, signum: int, _frame: Any) -> None:
        if self.stopping is None or signum != self.stopping:
            self.stopping = signum
            for pid in list(self.children):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signum)

    def run(self) -> int:
        for signum in _FORWARDED:
            signal.signal(signum, self._forward)
        for index in range(self.processes):
            self._spawn(index)
        code = 0
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            index = self.children.pop(pid, -1)
            if index < 0 or self.stopping is not None:
                continue
            delay_s = self.restarts[index].died(at=time.monotonic())
            how = _death(status)
            if delay_s is None:
                logger.error("worker process %d died (%s) too often; stopping the worker", index, how)
                code = 1
                self._forward(signal.SIGTERM, None)
                continue
            logger.warning("worker process %d died (%s); restarting it in %g s", index, how, delay_s)
            time.sleep(delay_s)
            if self.stopping is None:
                self._spawn(index)
        return code


def _death(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def worker_group_run(*, processes: int, concurrency: int, queue: str, loglevel: str) -> int:
    """Load once, fork the worker's processes and supervise them; returns the exit code."""
    preload()
    each = per_process_concurrency(concurrency, processes)
    group = WorkerGroup(
        processes=processes,
        argv_of=lambda index: celery_worker_argv(
            queue=queue, concurrency=each, loglevel=loglevel, index=index
        ),
    )
    return group.run()

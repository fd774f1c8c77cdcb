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

The parent does not stay: once the processes are forked it replaces itself with a bare
interpreter that supervises them (core/process_group.py), so that it holds none of the pages they
were forked from. A process that dies unasked is replaced by a `celery worker` of the same
arguments started afresh: it loads its own copy (~200 MB more) until the worker restarts.
"""

import gc
import os
import signal
import sys
from pathlib import Path
from typing import NoReturn

from core.process_group import FORWARDED, ProcessGroup, die_with_parent, supervisor_exec

ROOT = Path(__file__).resolve().parent.parent


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


def _child_main(argv: list[str]) -> None:
    die_with_parent()
    for signum in FORWARDED:
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


def _fork(argv: list[str]) -> int:
    pid = os.fork()
    if pid == 0:
        _child_main(argv)
    return pid


def worker_group_run(*, processes: int, concurrency: int, queue: str, loglevel: str) -> NoReturn:
    """Load once, fork the worker's processes, then become their supervisor."""
    preload()
    each = per_process_concurrency(concurrency, processes)
    argvs = [
        celery_worker_argv(queue=queue, concurrency=each, loglevel=loglevel, index=index)
        for index in range(processes)
    ]
    group = ProcessGroup(start=lambda index, _heartbeat_fd: _fork(argvs[index]))
    for index in range(processes):
        group.spawn(index)
    supervisor_exec(
        name="worker",
        children=group.children,
        restart_argvs=[[sys.executable, "-m", "celery", "-A", "console.celery", *argv] for argv in argvs],
        cwd=str(ROOT),
    )

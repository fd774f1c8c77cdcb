"""Checks run in a forked child of the test process (what a forked worker process would see)."""

import os
import select
import signal
from collections.abc import Callable


def in_forked_child(check: Callable[[], bool]) -> bool:
    """`check()` run in a forked child of this process; False if it failed or never answered."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        ok = False
        try:
            ok = check()
        finally:
            os.write(write, b"1" if ok else b"0")
            os._exit(0)
    os.close(write)
    ready, _, _ = select.select([read], [], [], 60)
    if not ready:  # a fork of a threaded process can deadlock: fail, never hang the suite
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert ready, "the forked child never answered"
    return os.read(read, 1) == b"1"

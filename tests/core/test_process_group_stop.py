"""A stop that comes while a child is being started still reaches that child."""

import signal
import subprocess
import sys

from core.process_group import ProcessGroup


def test_a_child_started_after_the_stop_was_asked_is_told_to_stop():
    started: list[subprocess.Popen[bytes]] = []

    def start(index: int, _heartbeat_fd: int | None) -> int:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        started.append(child)
        return child.pid

    group = ProcessGroup(start=start, name="test")
    # The stop arrived between the supervisor's check and this start (Ctrl-C: SIGINT).
    group.stopping = signal.SIGINT
    group.spawn(0)

    code = started[0].wait(timeout=30)
    assert code == -signal.SIGTERM  # told as the others were: SIGTERM for a Ctrl-C

"""The supervisor (core/process_group.py) of a group with heartbeats, driven with tiny real
children: one beats from its event loop, the other never beats and ignores SIGTERM. The
supervisor runs in a process of its own, as it installs signal handlers."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BEATING = """
import asyncio
from core.heartbeats import heartbeat_start

async def main():
    heartbeat_start(asyncio.get_running_loop())
    await asyncio.Event().wait()

asyncio.run(main())
"""
# Stuck before its loop ever turns, and deaf to the polite stop.
SILENT = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
time.sleep(600)
"""
SUPERVISOR = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from core.heartbeats import HeartbeatPolicy, heartbeat_env
from core.process_group import ProcessGroup, exec_started
from core.restarts import RestartPolicy

CODE = [{BEATING!r}, {SILENT!r}]
# Generous beside a tiny child's start (~0.1 s), so that the beating one is never late.
HEARTBEAT = HeartbeatPolicy(silent_after_s=5, kill_after_s=1)

def start(index, heartbeat_fd):
    argv = [sys.executable, "-c", CODE[index]]
    return exec_started(argv, {str(ROOT)!r}, [heartbeat_fd], heartbeat_env(heartbeat_fd, HEARTBEAT))

# The silent child's second death is one too many: the group stops, the beating child with it.
restarts = RestartPolicy(first_delay_s=0.1, max_delay_s=0.1, max_deaths=1)
group = ProcessGroup(start=start, name="test", policy=restarts, heartbeat=HEARTBEAT)
for index in range(2):
    group.spawn(index)
sys.exit(group.supervise())
"""


def test_a_silent_child_is_stopped_killed_and_replaced_and_a_beating_one_left_alone() -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SUPERVISOR)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = done.stderr
    silent = re.findall(r"test process (\d) \(pid (\d+)\) sent no heartbeat for [\d.]+ s", log)
    killed = re.findall(r"test process (\d) \(pid (\d+)\) did not stop; killing it", log)
    # The silent child, and its replacement: each stopped, killed when it ignored the stop.
    assert [index for index, _ in silent] == ["1", "1"], log
    assert killed == silent, log
    assert len({pid for _, pid in silent}) == 2, log
    assert "test process 1 died (killed by SIGKILL); restarting it in 0.1 s" in log
    assert "test process 1 died (killed by SIGKILL) too often; stopping the test" in log
    # The beating child was never taken for a stuck one, and stopped with the group.
    assert "test process 0" not in log
    assert done.returncode == 1, log

"""The suite's helpers for real processes leave none of them running: a process left behind
(a worker that did not get ready in time, a server slow to stop) holds connections to the test
database, which then cannot be dropped at the end of the run ("being accessed by other users")."""

import os
import signal
import subprocess
import sys

import pytest

from tests.support.processes import ROOT, group_gone, process_group_stop, start_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_worker_that_is_not_ready_in_time_is_stopped_not_left_running(tmp_path, monkeypatch):
    started: list[subprocess.Popen[bytes]] = []
    popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        process = popen(*args, **kwargs)
        started.append(process)
        return process

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    try:
        with pytest.raises(RuntimeError, match="did not start"):
            start_worker(tmp_path, ready_timeout_s=0.2)  # far sooner than a worker gets ready
        [worker] = started
        assert worker.poll() is not None
        assert group_gone(worker.pid)
    finally:
        for process in started:  # the old helper's leftover, so that a failure leaks nothing
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def test_a_group_that_ignores_sigterm_is_killed_with_the_children_its_leader_left():
    # The leader exits on SIGTERM at once; its child ignores it (a server waiting for its
    # connections to close), and would outlive the leader.
    stubborn = """
import signal, subprocess, sys, time
ignoring = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True); " \\
    "time.sleep(60)"
child = subprocess.Popen([sys.executable, "-c", ignoring], stdout=subprocess.PIPE)
child.stdout.readline()
print("ready", flush=True)
time.sleep(60)
"""
    leader = subprocess.Popen(
        [sys.executable, "-c", stubborn], cwd=ROOT, stdout=subprocess.PIPE, start_new_session=True
    )
    try:
        assert leader.stdout is not None
        assert leader.stdout.readline().strip() == b"ready"

        process_group_stop(leader, timeout_s=0.5)

        assert leader.returncode is not None
        assert group_gone(leader.pid)
    finally:
        if not group_gone(leader.pid):
            os.killpg(leader.pid, signal.SIGKILL)
        leader.wait(timeout=10)

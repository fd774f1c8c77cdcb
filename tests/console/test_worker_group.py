"""`manage.py worker`: WORKER_PROCESSES processes forked from one parent that loaded everything
(console/worker_group.py), as `make run`, the Dockerfile and docker-compose start the worker."""

import os
import signal
from urllib.parse import urlsplit

import psutil
import pytest

from agents.models import Task
from agents.services.tasks import task_submit
from console.worker_group import celery_worker_argv, per_process_concurrency
from tests.factories import make_agent
from tests.support.processes import running_worker, start_worker, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def live_children(pid: int) -> list[psutil.Process]:
    return [child for child in psutil.Process(pid).children() if child.status() != psutil.STATUS_ZOMBIE]


def alive(process: psutil.Process) -> bool:
    return process.is_running() and process.status() != psutil.STATUS_ZOMBIE


def calling(process: psutil.Process, port: int) -> bool:
    """Whether the process has a connection open to the simulator (a model call made from it)."""
    return any(
        conn.raddr and conn.raddr.port == port and conn.status == psutil.CONN_ESTABLISHED
        for conn in process.net_connections(kind="tcp")
    )


def all_succeeded(tasks: list[Task]) -> bool:
    return Task.objects.filter(pk__in=[t.pk for t in tasks], status=Task.Status.SUCCEEDED).count() == len(
        tasks
    )


def test_the_concurrency_is_shared_out_among_the_processes():
    assert per_process_concurrency(200, 2) == 100
    assert per_process_concurrency(5, 2) == 3  # rounded up: never fewer threads than asked for
    assert celery_worker_argv(queue="q", concurrency=3, loglevel="INFO", index=1)[-2:] == [
        "--hostname",
        "worker1@%h",
    ]


def test_a_worker_of_two_processes_runs_model_calls_in_both(requester, use_simulator, tmp_path):
    # One thread a process: a second run in flight at once can only be in the other process.
    make_agent("slow", model="sim/echo?latency_ms=3000")
    port = urlsplit(use_simulator).port
    with running_worker(tmp_path, processes=2, concurrency=2, SIMULATOR_URL=use_simulator) as worker:
        children = live_children(worker.process.pid)
        assert len(children) == 2
        tasks = [task_submit(owner=requester, agent_name="slow", input=f"hi {n}")[0] for n in range(2)]

        wait_until(
            lambda: all(calling(child, port) for child in children),
            timeout=20,
            what="a model call from each of the worker's processes",
        )
        wait_until(lambda: all_succeeded(tasks), timeout=30, what="both tasks to succeed")


def test_a_process_that_dies_is_started_again_and_the_worker_goes_on(requester, use_simulator, tmp_path):
    make_agent("echoer", model="sim/echo")
    with running_worker(tmp_path, processes=2, concurrency=2, SIMULATOR_URL=use_simulator) as worker:
        killed = live_children(worker.process.pid)[0]
        killed.send_signal(signal.SIGKILL)

        worker.wait_for("died (killed by SIGKILL); restarting it in 1 s")
        wait_until(
            lambda: len(live_children(worker.process.pid)) == 2,
            timeout=20,
            what="the worker's second process again",
        )
        assert killed.pid not in {child.pid for child in live_children(worker.process.pid)}
        tasks = [task_submit(owner=requester, agent_name="echoer", input=f"hi {n}")[0] for n in range(4)]
        wait_until(lambda: all_succeeded(tasks), timeout=30, what="the tasks to succeed")


def test_sigterm_stops_every_process_of_the_worker(tmp_path):
    worker = start_worker(tmp_path, processes=2)
    try:
        children = live_children(worker.process.pid)
        os.kill(worker.process.pid, signal.SIGTERM)  # the parent alone, as `up` or Docker stops it

        assert worker.process.wait(timeout=30) == 0
        assert not any(alive(child) for child in children)
    finally:
        worker.stop()


def test_a_killed_parent_takes_its_processes_with_it(tmp_path):
    worker = start_worker(tmp_path, processes=2)
    try:
        children = live_children(worker.process.pid)
        os.kill(worker.process.pid, signal.SIGKILL)  # no forwarding: the children must notice

        wait_until(
            lambda: (
                not any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in children)
            ),
            timeout=30,
            what="the worker's processes to end with their parent",
        )
    finally:
        worker.stop()


def test_the_parent_hands_supervision_to_a_bare_interpreter_holding_none_of_the_preload(tmp_path):
    # Had the parent stayed, every page both processes wrote since the fork would have a third
    # copy, the parent's: ~60 MB of a two-process worker (bench/README.md, step_overhead, Stop 23).
    with running_worker(tmp_path, processes=2) as worker:
        parent = psutil.Process(worker.process.pid)
        assert "supervisor_main" in " ".join(parent.cmdline())
        assert "worker" in parent.cmdline()  # a whole argument: `ps`, and `up`'s tests, find it by it
        assert parent.memory_info().rss < 40 * 2**20
        assert len(live_children(parent.pid)) == 2


def test_the_worker_runs_without_django_debug_mode_whatever_the_settings_say(settings, monkeypatch):
    # Debug mode would keep every SQL statement's text on each thread's connection (a leak).
    from django.core.management import call_command

    from console.management.commands import worker

    settings.DEBUG = True
    monkeypatch.setenv("DJANGO_DEBUG", "true")
    seen: list[tuple[bool, str]] = []

    def run(**options: object) -> int:
        from django.conf import settings as live

        # Its forks inherit the setting; a process started afresh in their place, the environment.
        seen.append((live.DEBUG, os.environ["DJANGO_DEBUG"]))
        return 0

    monkeypatch.setattr(worker, "worker_group_run", run)
    call_command("worker", "--processes", "1", "--concurrency", "2")

    assert seen == [(False, "false")]

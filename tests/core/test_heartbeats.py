"""Heartbeats (core/heartbeats.py): what the supervisor owes a child that falls silent, driven by
timestamps; and the child's side, beating from a real event loop on a real pipe."""

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from core.heartbeats import EVERY_ENV, FD_ENV, HeartbeatPolicy, Pulse, heartbeat_env, heartbeat_start

POLICY = HeartbeatPolicy(silent_after_s=30, kill_after_s=7)


def test_a_child_beats_several_times_in_the_silence_that_stops_it() -> None:
    assert POLICY.every_s == 5
    assert heartbeat_env(9, POLICY) == {FD_ENV: "9", EVERY_ENV: "5.0"}


def test_a_beating_child_is_owed_nothing() -> None:
    pulse = Pulse(POLICY, fd=-1, started_at=0)
    for at in range(5, 300, 5):
        pulse.beat(at=at)
        assert pulse.due(at=at + 29.9) is None
    assert pulse.next_at() == 295 + 30


def test_a_silent_child_is_stopped_then_killed_each_once() -> None:
    pulse = Pulse(POLICY, fd=-1, started_at=100)  # it never beat: silent from its start
    assert pulse.due(at=129.9) is None
    assert pulse.next_at() == 130
    assert pulse.due(at=130) == signal.SIGTERM
    assert pulse.due(at=130.5) is None
    pulse.beat(at=131)  # too late: it was told to stop, and a stop is not taken back
    assert pulse.next_at() == 137
    assert pulse.due(at=136.9) is None
    assert pulse.due(at=137) == signal.SIGKILL
    assert pulse.due(at=1000) is None
    assert pulse.next_at() is None


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    yield read_fd, write_fd
    for fd in (read_fd, write_fd):
        with contextlib.suppress(OSError):
            os.close(fd)


def beats(read_fd: int) -> int:
    try:
        return len(os.read(read_fd, 65536))
    except BlockingIOError:
        return 0


def run_with_errors(main: Any) -> list[dict[str, Any]]:
    """Run the coroutine function `main` on a fresh loop; returns what the loop's exception
    handler was given (a callback that raised)."""
    errors: list[dict[str, Any]] = []

    async def wrapped() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: errors.append(context))
        await main()

    asyncio.run(wrapped())
    return errors


def test_a_child_beats_while_its_loop_turns_and_not_while_it_is_stuck(
    pipe: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    read_fd, write_fd = pipe
    monkeypatch.setenv(FD_ENV, str(write_fd))
    monkeypatch.setenv(EVERY_ENV, "0.01")

    async def main() -> None:
        heartbeat_start(asyncio.get_running_loop())
        # Not left for a process this one would start.
        assert FD_ENV not in os.environ
        assert EVERY_ENV not in os.environ
        await asyncio.sleep(0)  # one turn of the loop: the first beat
        assert beats(read_fd) == 1
        while not beats(read_fd):  # and again, while the loop turns
            await asyncio.sleep(0.01)
        time.sleep(0.1)  # a blocking call in async code: the loop is stuck, nothing beats
        assert beats(read_fd) == 0
        await asyncio.sleep(0)
        while not beats(read_fd):  # unstuck, it beats again
            await asyncio.sleep(0.01)

    assert run_with_errors(main) == []


def test_a_full_pipe_or_a_gone_supervisor_never_stops_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    read_fd, write_fd = os.pipe()
    monkeypatch.setenv(FD_ENV, str(write_fd))
    monkeypatch.setenv(EVERY_ENV, "0.001")
    os.set_blocking(write_fd, False)
    with contextlib.suppress(BlockingIOError):
        while True:  # a supervisor behind on reading
            os.write(write_fd, b"." * 4096)

    async def main() -> None:
        heartbeat_start(asyncio.get_running_loop())
        for _ in range(20):
            await asyncio.sleep(0.001)  # beats into the full pipe, which would block
        os.close(read_fd)  # the supervisor is gone
        for _ in range(20):
            await asyncio.sleep(0.001)

    try:
        assert run_with_errors(main) == []
    finally:
        os.close(write_fd)

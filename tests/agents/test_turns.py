"""A worker process's runs take turns at the CPU (agents/runtime/turns.py)."""

import threading
from types import SimpleNamespace

from agents.runtime.turns import Turns, _turns, process_turns, run_turn, turn_given_back
from agents.runtime.waiting import waiting


def _taker(turns: Turns) -> tuple[threading.Thread, threading.Event, threading.Event]:
    """A thread that takes a turn, says whether it got one, and gives it back when told."""
    took, done = threading.Event(), threading.Event()
    held: list[bool] = []

    def run() -> None:
        turns.take()
        held.append(turns.holds())
        took.set()
        done.wait(5)
        turns.give()

    thread = threading.Thread(target=run)
    thread.held = held  # type: ignore[attr-defined]
    thread.start()
    return thread, took, done


def test_a_run_waits_for_a_turn_while_every_turn_is_held_and_gets_the_one_given_back():
    turns = Turns(1, wait_max_s=10)
    first, first_took, first_done = _taker(turns)
    assert first_took.wait(5)
    assert first.held == [True]

    second, second_took, second_done = _taker(turns)
    assert not second_took.wait(0.3)  # the only turn is held

    first_done.set()
    assert second_took.wait(5)
    assert second.held == [True]
    second_done.set()
    first.join(5)
    second.join(5)


def test_a_thread_holds_one_turn_however_often_it_asks():
    turns = Turns(2, wait_max_s=10)
    turns.take()
    turns.take()
    other, other_took, other_done = _taker(turns)  # the second turn is still free
    assert other_took.wait(5)
    assert other.held == [True]
    other_done.set()
    other.join(5)
    turns.give()
    turns.give()  # a thread without a turn gives nothing back
    assert not turns.holds()


def test_a_run_that_waits_too_long_for_a_turn_goes_on_without_one():
    # A scheduling aid, never a lock: nothing can deadlock on a turn.
    turns = Turns(1, wait_max_s=0.1)
    holder, holder_took, holder_done = _taker(turns)
    assert holder_took.wait(5)

    late, late_took, late_done = _taker(turns)

    assert late_took.wait(5)
    assert late.held == [False]
    late_done.set()
    holder_done.set()
    late.join(5)
    holder.join(5)


def test_a_run_gives_its_turn_back_for_each_wait_and_takes_it_again_after(settings):
    turns = process_turns()
    assert turns is not None  # on by default
    with run_turn():
        assert turns.holds()
        with waiting(SimpleNamespace(lease=None)):  # type: ignore[arg-type]
            assert not turns.holds()
        assert turns.holds()
    assert not turns.holds()


def test_turns_can_be_turned_off(settings):
    settings.RUN_CPU_TURNS = 0
    assert _turns() is None
    settings.RUN_CPU_TURNS = 3
    made = _turns()
    assert made is not None
    assert made.wait_max_s > 0


def test_a_thread_that_is_not_a_run_takes_no_turn_around_a_wait():
    # An API request's thread meeting a wait (the cost breaker's poll, say) must not come out of
    # it holding a turn that no run_turn would ever give back.
    turns = process_turns()
    assert turns is not None
    with turn_given_back():
        pass
    assert not turns.holds()


def test_failures_and_nesting_inside_a_run_never_leave_a_turn_taken(monkeypatch):
    # A turn left taken would be lost to the process for good: with every turn lost, each wait
    # of every run would cost TURN_WAIT_MAX_S. Errors out of a wait (a tool's, a lost lease
    # before the wait), a wait inside a wait and a run inside a run all give back what they took.
    turns = Turns(1, wait_max_s=0.05)
    monkeypatch.setattr("agents.runtime.turns.process_turns", lambda: turns)

    class LeaseLost(Exception):
        pass

    def lost() -> None:
        raise LeaseLost

    with run_turn():
        try:
            with waiting(SimpleNamespace(lease=None)):  # type: ignore[arg-type]
                raise RuntimeError("the tool failed")
        except RuntimeError:
            pass
        assert turns.holds()
        try:
            with waiting(SimpleNamespace(lease=SimpleNamespace(ensure=lost))):  # type: ignore[arg-type]
                raise AssertionError("a run that lost its lease must not start the wait")
        except LeaseLost:
            pass
        assert turns.holds()
        with waiting(SimpleNamespace(lease=None)), waiting(SimpleNamespace(lease=None)):  # type: ignore[arg-type]
            assert not turns.holds()
        assert turns.holds()
        with run_turn():
            assert turns.holds()
    try:
        with run_turn():
            raise RuntimeError("the run failed")
    except RuntimeError:
        pass

    assert not turns.holds()
    other, other_took, other_done = _taker(turns)  # the one turn is free for another run
    assert other_took.wait(5)
    assert other.held == [True]
    other_done.set()
    other.join(5)

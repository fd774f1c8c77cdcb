"""Evaluating conditions: every failure is caught, and a long run is stopped by the budget."""

from functools import partial

import pytest

from approvals.policy.conditions import CallConditions
from core.cel.conditions import condition_check
from core.cel.sandbox import sandbox
from tests.support.forks import in_forked_child
from tests.support.races import race

# Within every save-time limit; over 3,000 arguments it runs ~9 million comparisons, which took
# 23 s in-process on the development machine, with the GIL held throughout.
SLOW = "args.i.exists(x, args.i.exists(y, x == y + 5000))"


def matches(source: str, args: dict, *, budget_s: float = 5.0) -> tuple[bool, str]:
    return CallConditions(args=args, tool="t", agent="a", budget_s=budget_s).matches(source)


def test_a_condition_within_the_limits_that_would_run_long_is_stopped_by_the_budget():
    condition_check(SLOW)
    matched, error = matches(SLOW, {"i": list(range(3000))}, budget_s=0.3)
    assert matched is False
    assert error == "stopped: timed out (budget 300 ms)"
    # The overrunning evaluator was killed and replaced: the next call is answered.
    assert matches(SLOW, {"i": [1, 2, 5001]}) == (True, "")


@pytest.mark.parametrize(
    ("source", "args", "error"),
    [
        ("10/(args.i-1) > 0", {"i": 1}, "ZeroDivisionError: division by zero"),
        ("args.i % 0 == 1", {"i": 1}, "ZeroDivisionError: modulo by zero"),
        ("args.i + 1 > 0", {"i": 2**63 - 1}, "OverflowError: Arithmetic overflow in 'add'"),
        ("args.missing > 1", {"i": 1}, "KeyError: 'missing'"),
        ("args.i > 1", {"i": "2"}, "TypeError: No such overload"),
        ("args.l[5] == 1", {"l": [1]}, "IndexError: index out of bounds: 5"),
        ('args.s.matches("(")', {"s": "x"}, "RuntimeError: Function 'matches' error: '(' not a valid regex:"),
        ("nosuch(args.i)", {"i": 1}, "RuntimeError: Undefined variable or function: 'nosuch'"),
    ],
)
@pytest.mark.parametrize("where", ["in-process", "sandbox"])
def test_every_runtime_error_is_caught_and_reported(source, args, error, where):
    if where == "sandbox":
        # A macro sends the condition to the evaluator process; it changes nothing else here.
        source = f"[1].exists(z, z == 2) || ({source})"
    matched, message = matches(source, args)
    assert matched is False
    assert message.startswith(error)
    assert "\n" not in message


def test_a_non_boolean_result_is_an_error_in_both_places():
    assert matches("args.i", {"i": 3}) == (False, "the condition gave int, not a boolean")
    assert matches("args.i.map(x, x)", {"i": [3]}) == (False, "the condition gave list, not a boolean")


def test_a_condition_that_crashes_the_parser_takes_down_only_the_evaluator():
    """A stored condition from before the limits (a 50,000-term chain) segfaults the library's
    parser; in-process that ended the whole web or worker process."""
    chain = "+".join(["1"] * 50_000) + " > 0"
    matched, error = matches(chain, {})
    assert matched is False
    assert error.startswith("stopped: ")
    assert matches("args.i.exists(x, x > 1)", {"i": [2]}) == (True, "")


def test_arguments_that_are_not_plain_json_fail_without_evaluating():
    assert matches("args.x > 1.0", {"x": float("nan")}) == (
        False,
        "not evaluated: the arguments are not plain JSON",
    )


def test_the_budget_covers_all_of_a_calls_conditions():
    conditions = CallConditions(args={"i": list(range(3000))}, tool="t", agent="a", budget_s=0.3)
    assert conditions.matches(SLOW)[1].startswith("stopped: timed out")
    assert conditions.matches("args.i.size() > 0") == (
        False,
        "not evaluated: the 300 ms budget for this call's conditions ran out",
    )


PARITY = "args.items.exists(x, x == args.items[0]) && (args.items[0] + args.items[1]) % 2 == 0"


def test_many_threads_share_the_evaluators_and_each_gets_its_own_answer():
    """The runtime becomes a threaded pool: answers must never cross between threads."""
    failures: list[str] = []

    def work(n: int) -> None:
        for k in range(30):
            args = {"items": [n, k]}
            expected = (n + k) % 2 == 0
            got = matches(
                "args.items.exists(x, x == args.items[0]) && (args.items[0] + args.items[1]) % 2 == 0", args
            )
            if got != (expected, ""):
                failures.append(f"{n},{k}: {got}")

    race(*[partial(work, n) for n in range(8)], expected=())  # a crash in a thread fails the test
    assert failures == []


def test_a_forked_process_starts_its_own_evaluators():
    before = sandbox()
    matches("[1].exists(x, x == 1)", {})
    # The child: a fresh pool, answering on its own evaluators.
    assert in_forked_child(
        lambda: sandbox() is not before and matches("[1].exists(x, x == 1)", {}) == (True, "")
    )

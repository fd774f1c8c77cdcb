"""The checks of an eval case: expected tool calls, CEL assertions (bounded), a judge model."""

from decimal import Decimal

import pytest

from agents.models import Task
from core.errors import Invalid
from evals.checks.observed import Observation
from evals.checks.run import checks_run
from evals.checks.specs import checks_validate
from evals.checks.tool_calls import tool_calls_check
from evals.limits import MAX_CHECKS_PER_CASE
from tests.evals.support import judged_task

# Checks without a judge never read the case's task (only a judge's call is metered against it).
NO_TASK = Task()


@pytest.fixture
def case_task(admin) -> Task:
    """A task in a session of its own, whose cost breakers a judge's call is reserved against."""
    return judged_task(admin)


def call(tool: str, status: str = "success", **args) -> dict:
    return {"tool": tool, "args": args, "status": status, "result": {"status": status, "data": None}}


CALLS = [
    call("lookup_order", order_id="A-1001"),
    call("issue_refund", order_id="A-1001", amount=49.99, reason="damaged"),
    call("send_email", to="c@example.com"),
]


def observation(calls=CALLS, **overrides) -> Observation:
    values = {
        "input": "refund A-1001",
        "result": "Done: I refunded 49.99 USD.",
        "status": "succeeded",
        "stop_reason": "",
        "calls": calls,
        "usage": {
            "input_tokens": 900,
            "output_tokens": 60,
            "cost_usd": 0.0004,
            "steps": 3,
            "tool_calls": len(calls),
            "latency_ms": 120.0,
        },
    }
    return Observation(**(values | overrides))


def spec(calls, mode="set", only=False) -> dict:
    return checks_validate([{"kind": "tool_calls", "calls": calls, "mode": mode, "only": only}])[0]


def test_expected_calls_in_order_allow_calls_between_but_not_another_order():
    lookup, refund = {"tool": "lookup_order"}, {"tool": "issue_refund"}
    assert tool_calls_check(spec([lookup, refund], mode="ordered"), CALLS) == (True, "")
    passed, detail = tool_calls_check(spec([refund, lookup], mode="ordered"), CALLS)
    assert not passed
    assert detail == "expected call 2 (lookup_order) was not made in order"


def test_expected_calls_as_a_set_match_each_call_once_in_any_order():
    assert tool_calls_check(spec([{"tool": "issue_refund"}, {"tool": "lookup_order"}]), CALLS)[0]
    # Two expectations cannot share one call.
    twice = spec([{"tool": "lookup_order"}, {"tool": "lookup_order"}])
    assert tool_calls_check(twice, CALLS) == (False, "expected call 2 (lookup_order) was not made")


def test_a_set_match_does_not_give_a_call_to_the_wrong_expectation():
    calls = [call("t", a=1), call("t", a=2)]
    # A greedy pass gives the first call to the loose expectation and then has none for the strict one.
    expected = spec([{"tool": "t"}, {"tool": "t", "args": {"a": 1}}])
    assert tool_calls_check(expected, calls) == (True, "")


def test_only_refuses_calls_beyond_the_expected_ones():
    passed, detail = tool_calls_check(
        spec([{"tool": "lookup_order"}, {"tool": "issue_refund"}], only=True), CALLS
    )
    assert not passed
    assert detail.startswith("expected exactly 2 calls, the task made 3")


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ({"amount": 49.99}, True),
        ({"amount": {"$lte": 50}}, True),
        ({"amount": {"$lt": 49}}, False),
        ({"amount": {"$gt": 10, "$lt": 60}}, True),
        ({"order_id": {"$in": ["A-1001", "A-1003"]}}, True),
        ({"reason": {"$contains": "dam"}}, True),
        ({"reason": {"$ne": "damaged"}}, False),
        ({"coupon": {"$exists": False}}, True),
        ({"coupon": {"$exists": True}}, False),
        ({"order_id": {"$lte": 5}}, False),  # an ordering on a string never holds
        ({"missing": 1}, False),
    ],
)
def test_argument_constraints(constraint, expected):
    assert tool_calls_check(spec([{"tool": "issue_refund", "args": constraint}]), CALLS)[0] is expected


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"kind": "nope"}, "checks[0].kind must be one of tool_calls, cel, judge"),
        ({"kind": "cel", "expr": "x", "extra": 1}, "checks[0]: unknown key 'extra' for a cel check"),
        (
            {"kind": "cel", "expr": "calls.map(c, calls.map(d, calls.map(e, 1)))"},
            "nests comprehension macros",
        ),
        ({"kind": "cel", "expr": "status == "}, "not valid CEL"),
        ({"kind": "cel", "expr": "x" * 501}, "the limit is 500"),
        (
            {"kind": "tool_calls", "calls": [{"tool": "t", "args": {"a": {"$regex": "."}}}]},
            "unknown operator",
        ),
        ({"kind": "tool_calls", "calls": [{"tool": "t", "args": {"a": {"$lt": "1"}}}]}, "must be a number"),
        ({"kind": "tool_calls", "calls": [{"tool": "t"}], "mode": "bag"}, "ordered or set"),
        ({"kind": "judge", "rubric": "be nice", "model": "sim/no-such"}, "has no scenario"),
    ],
)
def test_bad_specs_are_refused_with_what_is_wrong(bad, message, db):
    with pytest.raises(Invalid) as refused:
        checks_validate([bad])
    assert message in refused.value.message


def test_a_case_has_a_bounded_number_of_checks():
    with pytest.raises(Invalid, match=f"at most {MAX_CHECKS_PER_CASE} checks"):
        checks_validate([{"kind": "cel", "expr": "true"}] * (MAX_CHECKS_PER_CASE + 1))


def test_cel_assertions_see_result_calls_usage_status_and_stop_reason():
    checks = checks_validate(
        [
            {"kind": "cel", "expr": "usage.cost_usd < 0.02"},
            {"kind": "cel", "expr": 'calls.exists(c, c.tool == "issue_refund" && c.args.amount <= 50)'},
            {
                "kind": "cel",
                "expr": 'result.contains("refunded") && status == "succeeded" && stop_reason == ""',
            },
            {"kind": "cel", "expr": "usage.steps == 3 && usage.tool_calls == 3", "name": "three steps"},
            {"kind": "cel", "expr": "usage.output_tokens > 1000"},
        ]
    )
    checked = checks_run(checks, observation(), task=NO_TASK)
    assert [r["passed"] for r in checked.results] == [True, True, True, True, False]
    assert checked.results[3]["name"] == "three steps"
    assert checked.results[4] == {
        "check": 4,
        "kind": "cel",
        "name": "usage.output_tokens > 1000",
        "passed": False,
        "error": False,
        "detail": "the assertion is false",
    }
    assert checked.status == "failed"


def test_a_cel_runtime_error_or_a_non_boolean_fails_the_check_with_the_reason():
    checks = checks_validate(
        [{"kind": "cel", "expr": "usage.nothing > 1"}, {"kind": "cel", "expr": "usage.steps"}]
    )
    first, second = checks_run(checks, observation(), task=NO_TASK).results
    assert not first["passed"]
    assert first["detail"]
    assert not second["passed"]
    assert second["detail"] == "the condition gave int, not a boolean"


def test_a_slow_assertion_over_many_calls_is_stopped_by_the_case_budget():
    many = [call("t", i=i) for i in range(500)]
    slow = checks_validate(
        [{"kind": "cel", "expr": "calls.exists(x, calls.exists(y, x.args.i == y.args.i + 5000))"}]
    )
    from evals.checks.assertions import assertions_for

    facts = observation(calls=many).facts()
    matched, error = assertions_for(facts, budget_s=0.2).matches(slow[0]["expr"])
    assert matched is False
    assert error.startswith("stopped: timed out (budget 200 ms)")


@pytest.mark.django_db
def test_a_judge_is_a_model_through_the_providers_and_its_cost_is_counted(use_simulator, case_task):
    checks = checks_validate(
        [
            {"kind": "judge", "rubric": "The answer confirms the refund.", "model": "sim/judge"},
            {"kind": "judge", "rubric": "Polite? (verdict=false)", "model": "sim/judge", "name": "tone"},
        ]
    )
    checked = checks_run(checks, observation(), task=case_task)
    good, bad = checked.results
    assert good["passed"] is True
    assert good["detail"] == "The simulator judge says true."
    assert bad == {
        "check": 1,
        "kind": "judge",
        "name": "tone",
        "passed": False,
        "error": False,
        "detail": "The simulator judge says false.",
    }
    assert checked.judge_cost_usd > Decimal(0)
    assert checked.judge_input_tokens > 0
    assert checked.judge_output_tokens > 0
    assert checked.status == "failed"


@pytest.mark.django_db
def test_a_judge_that_does_not_answer_the_json_asked_for_is_an_error_not_a_pass(use_simulator, case_task):
    # The echo scenario answers with the prompt: not {"pass": bool, "reason": str}.
    checks = checks_validate([{"kind": "judge", "rubric": "anything", "model": "sim/echo"}])
    checked = checks_run(checks, observation(), task=case_task)
    [result] = checked.results
    assert result["passed"] is False
    assert result["error"] is True
    assert result["detail"].startswith('the judge did not answer {"pass": bool, "reason": str}')
    assert checked.status == "error"
    assert checked.judge_cost_usd > 0  # it was still called, and paid for

"""The guardrail pipeline: one fixed order, first halt wins, every non-allow decision traced."""

import pytest

from agents.guards.decision import ALLOW, Decision, Verdict
from agents.guards.pipeline import guards_before_model_call
from agents.services.tasks import task_submit
from tests.factories import make_agent
from tests.support.run_state import run_state_claimed
from tracing.recorder import SpanBuffer

pytestmark = pytest.mark.django_db


@pytest.fixture
def state(requester):
    make_agent("guarded", model="sim/echo", max_iterations=5)
    task, _ = task_submit(owner=requester, agent_name="guarded", input="hi")
    return run_state_claimed(task.id)


def spans_for(state) -> SpanBuffer:
    return SpanBuffer(trace_pk=state.trace_pk, parent_span_id="root")


def test_a_downgrade_is_kept_while_later_guards_still_run(state):
    calls = []

    def downgrade(s):
        calls.append("downgrade")
        return Decision(Verdict.DOWNGRADE, guard="token_budget", reason="80% of the budget used")

    def allow(s):
        calls.append("allow")
        return ALLOW

    spans = spans_for(state)
    decision = guards_before_model_call(state, spans, guards=(downgrade, allow))

    assert decision.verdict is Verdict.DOWNGRADE
    assert calls == ["downgrade", "allow"]
    assert [s.name for s in spans.spans] == ["guardrail token_budget"]
    assert spans.spans[0].attributes["tollgate.guardrail.verdict"] == "downgrade"


def test_a_halt_stops_the_evaluation_and_is_recorded(state):
    def halt(s):
        return Decision(Verdict.HALT, guard="loop_detected", reason="same answer 3 times", detail={"k": 3})

    def never(s):
        raise AssertionError("guards after a halt must not run")

    spans = spans_for(state)
    decision = guards_before_model_call(state, spans, guards=(halt, never))

    assert decision.guard == "loop_detected"
    assert spans.spans[0].status == "error"
    assert spans.spans[0].output == {"k": 3}


def test_the_default_pipeline_halts_at_max_iterations(state):
    state.task.step_index = 5
    spans = spans_for(state)

    decision = guards_before_model_call(state, spans)

    assert (decision.verdict, decision.guard) == (Verdict.HALT, "max_iterations")
    state.task.step_index = 4
    assert guards_before_model_call(state, spans_for(state)) is ALLOW

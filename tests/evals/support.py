"""An agent, a suite and cases the eval tests share: the demo's refund conversation, with its
tool results recorded as fixtures. The eval benchmark (bench/eval_bench.py) runs the same
cases: this module imports the app and tests/factories.py, never pytest."""

from decimal import Decimal

from django.contrib.auth.models import User

from agents.models import Agent, Session, Task
from agents.services.tasks import task_create
from evals.models import EvalSuite
from evals.services.suites import case_create, suite_create
from tests.factories import make_agent, make_http_tool

LOOKUP = {
    "status": "success",
    "data": {"order_id": "A-1001", "amount": 49.99, "status": "delivered", "payment": "captured"},
}
REFUND = {
    "status": "success",
    "data": {"refund_id": "R-1", "order_id": "A-1001", "amount": 49.99, "status": "refunded"},
}
REFUND_CHECKS = [
    {
        "kind": "tool_calls",
        "name": "looks up, then refunds at most 50",
        "mode": "ordered",
        "calls": [{"tool": "lookup_order"}, {"tool": "issue_refund", "args": {"amount": {"$lte": 50}}}],
    },
    {"kind": "cel", "name": "cheap", "expr": "usage.cost_usd < 0.02"},
    {"kind": "cel", "name": "says refunded", "expr": 'result.contains("refunded")'},
]


def refund_agent(tool_url: str) -> Agent:
    """sim/refund with lookup_order and issue_refund pointed at `tool_url` (which must see nothing)."""
    tools = [make_http_tool(name, tool_url) for name in ("lookup_order", "issue_refund")]
    return make_agent("support", model="sim/refund", tools=tools)


def refund_suite(admin, *, cases: int = 2, required: bool = False) -> EvalSuite:
    suite = suite_create(actor=admin, agent_name="support", name="refunds", required=required)
    refund_cases_add(admin, suite, cases)
    return suite


def refund_cases_add(admin, suite: EvalSuite, cases: int) -> None:
    """`cases` cases of the refund conversation, `refund 0` onwards, each with its own input."""
    for number in range(cases):
        case_create(
            actor=admin,
            suite_id=suite.pk,
            name=f"refund {number}",
            input=f"Please refund order A-1001 (case {number}).",
            fixtures=[
                {"tool": "lookup_order", "arguments": None, "result": LOOKUP},
                {"tool": "issue_refund", "arguments": None, "result": REFUND},
            ],
            checks=REFUND_CHECKS,
        )


def judged_task(owner: User, *, max_cost_usd: Decimal = Decimal("5")) -> Task:
    """A task of a new agent `judged` (max_cost_usd per session) in an eval-like session of its
    own: what a judge's call is reserved against."""
    agent = make_agent("judged", model="sim/echo", max_cost_usd=max_cost_usd)
    session = Session.objects.create(
        agent=agent, agent_version=agent.current_version, owner=owner, end_user="eval:judged"
    )
    return task_create(session=session, owner=owner, input="refund A-1001")

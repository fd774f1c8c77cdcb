"""Each call's cost is counted once: a task's spans add up to its cost exactly, and the cost page,
the daily report and /metrics show the same money for the same work."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from agents.guards.models import GuardConfig
from agents.models import Task
from agents.runtime.loop import task_steps_run
from agents.services.tasks import task_submit
from core import clock
from tests.agents.guards.faultserver import always, running_fault_server
from tests.factories import make_agent, make_http_tool
from tracing.models import Span
from tracing.recorder import COST_ATTRIBUTE
from tracing.reports.daily import daily_report

pytestmark = pytest.mark.django_db(transaction=True)

AGENT = "cost-agreement"


def _metrics_cost(agent: str) -> Decimal:
    """tollgate_model_cost_usd summed over the agent's models, as /metrics shows it."""
    text = Client(REMOTE_ADDR="127.0.0.1").get(reverse("tracing:metrics")).content.decode()
    total = Decimal(0)
    for line in text.splitlines():
        if line.startswith("tollgate_model_cost_usd_total{") and f'agent="{agent}"' in line:
            total += Decimal(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture
def summarised_task(requester, use_simulator, settings) -> Task:
    """A task whose context is summarised several times: every step has a chat call and some a
    summary call, each billed."""
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    metrics_before = _metrics_cost(AGENT)
    with running_fault_server(always(200), pad=2000) as (url, _server):
        agent = make_agent(
            AGENT,
            model="sim/chain?calls=1000&tool=lookup",
            fallback_model="sim/summarise",
            tools=[make_http_tool("lookup", url)],
            max_iterations=14,
        )
        GuardConfig.objects.create(agent=agent, context_max_tokens=900, keep_tool_results=1)
        task, _ = task_submit(owner=requester, agent_name=AGENT, input="look everything up")
        task_steps_run(task_id=task.id, max_steps=100, max_seconds=120)
    task.refresh_from_db()
    task.metrics_delta = _metrics_cost(AGENT) - metrics_before  # type: ignore[attr-defined]
    return task


def test_the_span_costs_of_a_task_sum_exactly_to_its_cost(summarised_task):
    task = summarised_task
    spans = Span.objects.filter(trace__task=task, kind=Span.Kind.MODEL)
    costs = {span.name: Decimal(0) for span in spans}
    for span in spans:
        costs[span.name] += Decimal(span.attributes.get(COST_ATTRIBUTE, "0"))

    assert costs["context summarise"] > 0  # the summaries were billed...
    assert sum(costs.values()) == task.cost_usd > 0  # ...and counted once
    assert task.cost_usd == sum(step.cost_usd for step in task.steps.all())


def test_the_cost_page_the_daily_report_and_metrics_agree_to_the_cent(summarised_task, client, reviewer):
    task = summarised_task
    client.force_login(reviewer)
    page = client.get(reverse("tracing:costs"), {"by": "agent"}).context
    report = daily_report(day=clock.now().date())
    cent = Decimal("0.01")

    assert page["total"] == page["series"].totals[AGENT] == task.cost_usd
    assert [spend.cost for spend in page["top_sessions"]] == [task.cost_usd]
    assert report.total_cost == report.top_agents[AGENT] == task.cost_usd
    # Prometheus keeps floats: the same money to the cent.
    assert task.metrics_delta.quantize(cent) == task.cost_usd.quantize(cent)
    assert abs(task.metrics_delta - task.cost_usd) < Decimal("1e-9")


def test_a_summary_made_before_a_failed_call_is_still_the_tasks_cost(requester, use_simulator):
    agent = make_agent("doomed", model="sim/model_down", fallback_model="sim/summarise")
    GuardConfig.objects.create(agent=agent, context_max_tokens=500)
    task, _ = task_submit(owner=requester, agent_name="doomed", input="a long question " * 400)

    task_steps_run(task_id=task.id, max_steps=5, max_seconds=60)

    task.refresh_from_db()
    assert (task.status, task.stop_reason) == (Task.Status.FAILED, "model_error")
    summary = Span.objects.get(trace__task=task, name="context summarise")
    assert Decimal(summary.attributes[COST_ATTRIBUTE]) == task.cost_usd > 0

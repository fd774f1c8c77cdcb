"""Routing by step complexity: the routing table picks the model, and the trace says why."""

import pytest

from agents.guards.models import GuardConfig
from agents.models import Task
from agents.runtime.loop import task_steps_run
from agents.services.tasks import task_submit
from tests.factories import make_agent, make_http_tool
from tracing.models import Span

pytestmark = pytest.mark.django_db(transaction=True)

BIG = "sim/chain?calls=2&tool=refund_tool"
# The same scenario under other names: models as far as routing and the trace can tell.
SMALL = "sim/chain?tool=refund_tool&calls=2"


def test_the_routing_table_sends_each_kind_of_step_to_its_model(requester, use_simulator, tool_server):
    url, _server = tool_server
    agent = make_agent("routed", model=BIG, tools=[make_http_tool("refund_tool", url)])
    GuardConfig.objects.create(agent=agent, routing={"tool_choice": SMALL})
    task, _ = task_submit(owner=requester, agent_name="routed", input="go")

    task_steps_run(task_id=task.id, max_steps=10, max_seconds=60)

    task.refresh_from_db()
    assert task.status == Task.Status.SUCCEEDED
    models = list(task.steps.order_by("index").values_list("model", flat=True))
    # The first step picks a tool (routed to the small model); later ones read tool results.
    assert models == [SMALL, BIG, BIG]
    spans = list(Span.objects.filter(trace__task=task, kind="model").order_by("step_index"))
    assert [s.attributes["tollgate.route.complexity"] for s in spans] == ["tool_choice", "final", "final"]
    assert "routing table" in spans[0].attributes["tollgate.route.reason"]
    assert spans[0].attributes["tollgate.route.model"] == SMALL


def test_an_agent_without_tools_classifies_on_its_routed_model(requester, use_simulator):
    agent = make_agent("classifier", model="sim/echo")
    GuardConfig.objects.create(agent=agent, routing={"classify": "sim/echo?input=spam"})
    task, _ = task_submit(owner=requester, agent_name="classifier", input="is this spam?")

    task_steps_run(task_id=task.id, max_steps=10, max_seconds=60)

    task.refresh_from_db()
    assert task.steps.get().model == "sim/echo?input=spam"
    span = Span.objects.get(trace__task=task, kind="model")
    assert span.attributes["tollgate.route.complexity"] == "classify"

"""A recorded task with one call at each tier and each way people decide, run in-process
against the real simulator and tool server, for the replay tests."""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User

from agents.models import Agent, Task
from agents.runtime.loop import RunOutcome, task_steps_run
from agents.services.tasks import task_submit
from approvals.models import ActionRequest
from approvals.policy.services import policy_rule_create
from approvals.services import action_request_decide, action_request_timeout
from tests.factories import make_agent, make_http_tool
from tests.support.toolserver import ToolServerState

# Tool → its default tier. notify_tool is medium by a rule (auto-sent at once), refund_tool is
# approved by a reviewer, wipe_tool rejected, delete_tool refused as critical.
TIERS = {
    "lookup_tool": "low",
    "notify_tool": "low",
    "refund_tool": "high",
    "wipe_tool": "high",
    "delete_tool": "critical",
}


@dataclass
class Recorded:
    agent: Agent
    task: Task
    server: ToolServerState
    requests: int  # tool requests the original made


def run(task: Task) -> RunOutcome:
    return task_steps_run(task_id=task.id, max_steps=20, max_seconds=60)


def held(task: Task, tool: str) -> ActionRequest:
    return ActionRequest.objects.get(task=task, tool_name=tool)


@pytest.fixture
def recorded(requester: User, reviewer: User, admin: User, use_simulator, tool_server) -> Recorded:
    url, server = tool_server
    tools = [make_http_tool(name, url, risk_tier=tier) for name, tier in TIERS.items()]
    agent = make_agent("five", model="sim/five_tiers", tools=tools)
    policy_rule_create(actor=admin, tool="notify_tool", tier="medium", delay_s=0)
    task, _ = task_submit(owner=requester, agent_name="five", input="do the five things")
    assert run(task) is RunOutcome.PARKED  # notify_tool: medium, auto-sent when the clock says
    assert action_request_timeout(request_id=held(task, "notify_tool").id) == "approved"
    assert run(task) is RunOutcome.PARKED  # refund_tool
    action_request_decide(action_request=held(task, "refund_tool"), actor=reviewer, decision="approve")
    assert run(task) is RunOutcome.PARKED  # wipe_tool
    action_request_decide(
        action_request=held(task, "wipe_tool"), actor=reviewer, decision="reject", comment="never"
    )
    assert run(task) is RunOutcome.FINISHED
    task.refresh_from_db()
    assert task.status == Task.Status.SUCCEEDED
    assert held(task, "delete_tool").tier == "critical"
    assert server.requests == 3  # lookup, notify, refund
    return Recorded(agent=agent, task=task, server=server, requests=server.requests)

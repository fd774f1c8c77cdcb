from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group, User

from agents.models import Task
from agents.runtime.loop import RunOutcome, task_steps_run
from agents.services.tasks import task_submit
from approvals.models import ActionRequest
from core import clock
from tests.approvals.undo_support import Recorder, recording_tool_server
from tests.factories import make_agent, make_http_tool


def run(task: Task) -> RunOutcome:
    return task_steps_run(task_id=task.id, max_steps=20, max_seconds=60)


def submit(user: User, agent_name: str = "chainer", text: str = "go") -> Task:
    task, _ = task_submit(owner=user, agent_name=agent_name, input=text)
    return task


def make_reviewer(name: str) -> User:
    user = User.objects.create_user(name, password=f"{name}-pass")
    user.groups.add(Group.objects.get_or_create(name="reviewers")[0])
    return user


def the_request(task: Task) -> ActionRequest:
    return ActionRequest.objects.get(task=task)


@pytest.fixture
def recorder() -> Iterator[tuple[str, Recorder]]:
    """A tool server recording refunds (POST /refund) and reversals (POST /reverse)."""
    with recording_tool_server() as server:
        yield server


@pytest.fixture
def chain_agent(use_simulator, tool_server) -> tuple:
    """An agent that calls refund_tool once with {"i": 1}, then answers."""
    url, server = tool_server
    tool = make_http_tool("refund_tool", url, risk_tier="high")
    make_agent("chainer", model="sim/chain?calls=1&tool=refund_tool", tools=[tool])
    return tool, server


def make_request(owner: User, *, tool_name: str = "refund_tool", **fields) -> ActionRequest:
    """A pending high request on a fresh task, without running anything."""
    from agents.models import Agent

    if not Agent.objects.filter(name="chainer").exists():
        make_agent("chainer", model="sim/chain?calls=1&tool=refund_tool")
    task = submit(owner)
    Task.objects.filter(pk=task.pk).update(status=Task.Status.WAITING_APPROVAL)
    values = {
        "task": task,
        "step_index": 0,
        "call_index": 0,
        "call_id": "call_1",
        "tool_name": tool_name,
        "agent_name": "chainer",
        "arguments": {"i": 1},
        "original_arguments": {"i": 1},
        "tier": "high",
        "policy_version": 0,
        "request_hash": "0" * 64,
        "reviewer_group": "reviewers",
        "created_at": clock.now(),
    }
    values.update(fields)
    return ActionRequest.objects.create(**values)

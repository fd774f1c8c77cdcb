"""The framework examples end to end: their models are the simulator, their gate a live Tollgate."""

import threading

import pytest
from tollgate_client import Tollgate

from approvals.models import ActionRequest, ExternalAction
from approvals.services import action_request_decide
from console.tokens import api_token_create
from tests.gate.conftest import pending_request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def token(requester) -> str:
    raw, _ = api_token_create(user=requester, name="examples")
    return raw


def test_pydantic_ai_runs_the_refund_once_with_the_reviewers_edit(
    live_server, token, reviewer, simulator_url
):
    from examples import pydantic_ai_refund as example

    example.REFUNDS.clear()
    tollgate = Tollgate(live_server.url, token, agent="pydantic-ai-refunds", timeout=60)
    answers: list[str] = []
    run = threading.Thread(target=lambda: answers.append(example.run(tollgate, simulator_url, "pai-1")))
    run.start()
    request = pending_request()
    assert (request.tool_name, request.tier, request.arguments) == ("refund_order", "high", {"i": 1})
    action_request_decide(action_request=request, actor=reviewer, decision="approve", arguments={"i": 2})
    run.join(timeout=60)
    assert answers == ["Done: called refund_order 1 times."]
    assert example.REFUNDS == [{"i": 2}]
    assert ActionRequest.objects.get().status == "executed"
    assert ExternalAction.objects.get().result == {"refund_id": "R-2"}


def test_langgraph_resumes_without_repeating_the_refund(live_server, token, reviewer, simulator_url):
    from examples import langgraph_refund as example

    example.REFUNDS.clear()
    tollgate = Tollgate(live_server.url, token, agent="langgraph-refunds", timeout=60)
    answers: list[str] = []
    run = threading.Thread(target=lambda: answers.append(example.run(tollgate, simulator_url, "lg-1")))
    run.start()
    request = pending_request()
    action_request_decide(action_request=request, actor=reviewer, decision="approve", arguments={"i": 3})
    run.join(timeout=60)
    assert answers == ["Done: called refund_order 1 times."]
    assert example.REFUNDS == [{"i": 3}]
    # The node ran twice (before the interrupt and on resume) but asked for one action.
    assert ActionRequest.objects.count() == 1
    assert ExternalAction.objects.get().outcome == "success"

    # A replay of the tool node (a crash after the refund, a resumed checkpoint) runs nothing.
    from tollgate_client.adapters.langgraph import tollgate_tool_node

    call = {
        "id": ExternalAction.objects.get().idempotency_key,
        "function": {"name": "refund_order", "arguments": '{"i": 1}'},
    }
    node = tollgate_tool_node(tollgate, {"refund_order": example.refund_order})
    replayed = node(
        {"messages": [{"role": "assistant", "tool_calls": [call]}]}, {"configurable": {"thread_id": "lg-1"}}
    )
    assert replayed["messages"][0]["content"] == '{"refund_id": "R-3"}'
    assert example.REFUNDS == [{"i": 3}]

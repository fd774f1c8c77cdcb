"""The framework examples end to end: their models are the simulator, their gate a live Tollgate."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

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


ROOT = Path(__file__).resolve().parents[2]
# openai-agents pins websockets<17, which the project's virtualenv has newer: the example runs
# in a virtualenv of its own, installed from the package index on first use and kept after.
OPENAI_AGENTS = ["openai-agents==0.24.0", "-e", str(ROOT / "clients" / "python")]


def openai_agents_python() -> Path:
    venv = ROOT / ".tollgate" / "venv-openai-agents"
    python = venv / "bin" / "python"
    marker = venv / "tollgate-installed.json"
    if not marker.exists() or json.loads(marker.read_text()) != OPENAI_AGENTS:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *OPENAI_AGENTS], check=True, timeout=600)
        marker.write_text(json.dumps(OPENAI_AGENTS))
    return python


def test_openai_agents_sdk_runs_the_refund_once_with_the_reviewers_edit(
    live_server, token, reviewer, simulator_url, tmp_path
):
    python = openai_agents_python()
    env = {
        **os.environ,
        "TOLLGATE_URL": live_server.url,
        "TOLLGATE_TOKEN": token,
        "TOLLGATE_SESSION": "oai-1",
        "SIMULATOR_URL": simulator_url,
    }
    # Run from elsewhere: the SDK's package is named `agents`, like this project's app.
    example = subprocess.Popen(
        [str(python), str(ROOT / "examples" / "openai_agents_refund.py")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        request = pending_request()
        assert (request.tool_name, request.arguments) == ("refund_order", {"i": 1})
        action_request_decide(action_request=request, actor=reviewer, decision="approve", arguments={"i": 4})
        out, err = example.communicate(timeout=120)
    finally:
        example.kill()
    assert example.returncode == 0, err[-3000:]
    printed = json.loads(out.strip().splitlines()[-1])
    assert printed == {"output": "Done: called refund_order 1 times.", "refunds": [{"i": 4}]}
    assert ActionRequest.objects.get().status == "executed"
    assert ExternalAction.objects.get().result == {"refund_id": "R-4"}

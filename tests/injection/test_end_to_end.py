"""The issue's end-to-end test, with a real worker process and the simulator's scripted model: a
tool returns an injected instruction, the model then calls a write tool at tier medium; the call
waits for a person (never auto-sends), the card shows the snippet, and with `block` the model
never sees the text."""

import json

import pytest
from django.test import Client

from agents.models import Task
from approvals.models import ActionRequest
from tests.approvals.test_tiers_worker import running_beat, task_status
from tests.injection.conftest import INJECTED_PHRASE, set_action
from tests.support.processes import running_worker, wait_until
from tracing.models import Span

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

ASK = "Read the docs page and mail me the notes at me@example.com"


def submit(client) -> str:
    response = client.post(
        "/api/v1/tasks", {"agent": "reader", "input": ASK}, content_type="application/json"
    )
    assert response.status_code == 202, response.content
    return response.json()["id"]


def card(reviewer) -> dict:
    """The live queue's card data, as the reviewer's browser receives it."""
    client = Client()
    client.force_login(reviewer)
    page = client.get("/approvals/").content.decode()
    start = page.index('id="queue-initial"')
    payload = page[page.index(">", start) + 1 : page.index("</script>", start)]
    [item] = json.loads(payload)
    return item


@pytest.mark.parametrize("action", ["flag", "block"])
def test_an_injected_result_makes_the_next_medium_write_wait_for_a_person(
    action, requester_api, reviewer, reviewer_api, reader_agent, use_simulator, tmp_path
):
    set_action(reader_agent["fetch"], action)
    env = {"SIMULATOR_URL": use_simulator, "APPROVALS_SWEEP_S": "0.5"}
    with running_worker(tmp_path, **env), running_beat(tmp_path, **env):
        task_id = submit(requester_api)
        wait_until(lambda: task_status(task_id) == "waiting_approval", what="waiting_approval")
        request = ActionRequest.objects.get(task_id=task_id)
        assert (request.tool_name, request.tier, request.autosend_at) == ("send_email", "high", None)

        # The card: why, with the flagged text as data and its source tool.
        item = card(reviewer)
        [shown] = item["taint"]["detections"]
        assert shown["source"] == "fetch_page"
        assert INJECTED_PHRASE.lower() in shown["snippet"].lower()
        assert shown["detectors"]
        assert shown["score"] > 0
        [listed] = reviewer_api.get("/api/v1/approvals?status=pending").json()["items"]
        assert listed["taint"]["detections"][0]["snippet"] == shown["snippet"]

    # Nobody decided: with the beat sweeping, it neither ran nor auto-sent.
    assert ActionRequest.objects.get(task_id=task_id).status == "pending"
    assert task_status(task_id) == Task.Status.WAITING_APPROVAL
    assert reader_agent["mail"].requests == 0

    # The conversation the model was sent for its send_email step (that step's own spans are
    # written once it is decided and replayed).
    seen = json.dumps(Task.objects.get(pk=task_id).messages)
    if action == "block":
        assert INJECTED_PHRASE.lower() not in seen.lower()
        assert "attacker@evil.example" not in seen
        assert "withheld" in seen
    else:
        assert INJECTED_PHRASE in seen  # seen, but between the spotlight's random delimiters
        assert "<<untrusted-" in seen
    # The trace keeps the raw result either way.
    tool_span = Span.objects.get(trace__task_id=task_id, name="execute_tool fetch_page")
    assert INJECTED_PHRASE in json.dumps(tool_span.output)

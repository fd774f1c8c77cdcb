"""Long-term memory on real PostgreSQL/pgvector: written by the `remember` tool and recalled
into the context of later tasks, scoped to its agent (and session) before ranking."""

import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from agents.memory.context import MEMORY_NAME
from agents.memory.selectors import memory_recall
from agents.memory.services import MemoryAuthor, memory_create
from agents.models import AgentVersion, Memory, Task, Tool
from agents.runtime.loop import task_steps_run
from agents.services.tasks import task_submit
from agents.tools.executor import tool_call_execute, tool_call_idempotency_key
from agents.tools.python import POOL_SIZE, _pool, python_tools_sync
from tests.factories import make_agent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _tool_threads_let_go_of_the_database():
    """`remember` opens a database connection in a Python-tool pool thread; close them all
    afterwards, or the next test without database access fails in that thread."""
    yield
    barrier = threading.Barrier(POOL_SIZE)

    def close() -> None:
        barrier.wait(timeout=10)  # one call per thread: each waits until all have one
        connections.close_all()

    for future in [_pool().submit(close) for _ in range(POOL_SIZE)]:
        future.result(timeout=15)


# An admin without a user row: the API records the admin who wrote a memory.
ADMIN = MemoryAuthor(Memory.Provenance.ADMIN, None)
FACT = "The customer Dana prefers refunds as store credit, never to the card."


def run(user, agent_name: str, text: str, session=None) -> Task:
    task, _ = task_submit(owner=user, agent_name=agent_name, input=text, session_id=session)
    task_steps_run(task_id=task.id, max_steps=10, max_seconds=60)
    task.refresh_from_db()
    return task


def memory_messages(task: Task) -> list[str]:
    return [m["content"] for m in task.messages if m.get("role") == "system" and m.get("name") == MEMORY_NAME]


def switch_model(agent, model: str) -> None:
    """A new version of `agent` with `model`; new sessions use it."""
    version = AgentVersion.objects.create(agent=agent, number=2, model=model)
    agent.current_version = version
    agent.save(update_fields=["current_version"])


def test_a_fact_remembered_in_one_session_is_recalled_in_a_later_one_and_not_by_another_agent(
    requester, use_simulator
):
    python_tools_sync()
    support = make_agent("support", model="sim/remember", tools=[Tool.objects.get(name="remember")])
    make_agent("sales", model="sim/echo")
    memory_create(agent=support, text="Orders ship from the Leeds warehouse.", author=ADMIN)

    first = run(requester, "support", f"Remember: {FACT}")
    assert first.status == Task.Status.SUCCEEDED, first.stop_detail
    assert first.result == f"Noted: {FACT}"
    saved = Memory.objects.get(text=FACT)
    assert (saved.agent_id, saved.session_id, saved.task_id, saved.step_index) == (
        support.pk,
        None,
        first.id,
        0,
    )

    switch_model(support, "sim/echo")
    later = run(requester, "support", "How does Dana want her refund?")
    assert later.session_id != first.session_id
    [recalled] = memory_messages(later)
    assert FACT in recalled
    # The most similar memory comes first; the message sits right before the input.
    assert recalled.index(FACT) < recalled.index("Leeds")
    assert [m["role"] for m in later.messages] == ["system", "user", "assistant"]

    other = run(requester, "sales", "How does Dana want her refund?")
    assert other.status == Task.Status.SUCCEEDED
    assert memory_messages(other) == []


def test_a_session_memory_is_recalled_only_in_its_own_session(requester, use_simulator):
    agent = make_agent("support", model="sim/echo")
    first = run(requester, "support", "hello")
    memory_create(agent=agent, text=FACT, author=ADMIN, session_id=first.session_id)

    same_session = run(requester, "support", "How does Dana want her refund?", first.session_id)
    new_session = run(requester, "support", "How does Dana want her refund?")

    assert len(memory_messages(same_session)) == 1
    assert memory_messages(new_session) == []
    # Recalled afresh for every task: the first task's memory message is not carried along.
    again = run(requester, "support", "Dana and refunds again", first.session_id)
    assert len(memory_messages(again)) == 1


def test_a_task_of_an_agent_without_memories_looks_for_none(requester, use_simulator):
    """No embedding and no vector search opens its task; another agent's memories change nothing."""
    other = make_agent("support", model="sim/echo")
    memory_create(agent=other, text=FACT, author=ADMIN)
    make_agent("sales", model="sim/echo")

    with CaptureQueriesContext(connection) as queries:
        task = run(requester, "sales", "How does Dana want her refund?")

    assert task.status == Task.Status.SUCCEEDED
    assert [m["role"] for m in task.messages] == ["user", "assistant"]
    assert not [q["sql"] for q in queries.captured_queries if "<=>" in q["sql"]]
    recalled = run(requester, "support", "How does Dana want her refund?")
    assert len(memory_messages(recalled)) == 1


def test_scope_is_applied_before_ranking_so_a_closer_memory_of_another_agent_never_shows(requester):
    mine = make_agent("mine", model="sim/echo")
    theirs = make_agent("theirs", model="sim/echo")
    for n in range(30):
        memory_create(agent=theirs, text=f"Dana prefers refunds as store credit (note {n}).", author=ADMIN)
    memory_create(agent=mine, text="The warehouse closes at six.", author=ADMIN)

    recalled = memory_recall(
        agent_id=mine.pk, session=None, query="Dana prefers refunds as store credit", k=5
    )

    assert [r.text for r in recalled] == ["The warehouse closes at six."]


def test_a_redelivered_remember_call_stores_its_fact_once(requester):
    python_tools_sync()
    tool = Tool.objects.get(name="remember")
    make_agent("support", model="sim/echo", tools=[tool])
    task, _ = task_submit(owner=requester, agent_name="support", input="hi")
    key = tool_call_idempotency_key(task_id=task.id, step_index=2, call_index=0)

    results = [tool_call_execute(tool=tool, arguments={"fact": FACT}, idempotency_key=key) for _ in range(2)]

    assert [r.status for r in results] == ["success", "success"]
    assert results[0].data["id"] == results[1].data["id"]
    memory = Memory.objects.get()
    assert (memory.session_id, memory.task_id, memory.step_index) == (task.session_id, task.id, 2)


def test_remember_outside_a_task_is_refused():
    python_tools_sync()
    result = tool_call_execute(
        tool=Tool.objects.get(name="remember"), arguments={"fact": FACT}, idempotency_key="my-own-key"
    )
    assert result.status == "error"
    assert result.error_type == "permanent"
    assert not Memory.objects.exists()


def run_for(user, end_user: str, agent_name: str, text: str) -> Task:
    task, _ = task_submit(owner=user, agent_name=agent_name, input=text, end_user=end_user)
    task_steps_run(task_id=task.id, max_steps=10, max_seconds=60)
    task.refresh_from_db()
    return task


def test_what_one_end_user_told_the_agent_never_reaches_another_end_users_session(
    requester, admin, use_simulator
):
    """An agent-wide `remember` in alice's session is recalled in alice's later sessions only;
    what an admin wrote reaches both."""
    python_tools_sync()
    support = make_agent("support", model="sim/remember", tools=[Tool.objects.get(name="remember")])
    memory_create(
        agent=support, text="Dana's orders ship from the Leeds warehouse.", author=MemoryAuthor.admin(admin)
    )
    told = run_for(requester, "alice", "support", f"Remember: {FACT}")
    assert told.status == Task.Status.SUCCEEDED, told.stop_detail
    saved = Memory.objects.get(text=FACT)
    assert (saved.session_id, saved.provenance, saved.written_by_id, saved.end_user) == (
        None,
        "agent",
        requester.pk,
        "alice",
    )

    switch_model(support, "sim/echo")
    bob = run_for(requester, "bob", "support", "How does Dana want her refund?")
    alice = run_for(requester, "alice", "support", "How does Dana want her refund?")

    [bobs] = memory_messages(bob)
    assert FACT not in bobs
    assert "Leeds" in bobs
    [alices] = memory_messages(alice)
    assert FACT in alices
    assert "Leeds" in alices


def test_the_same_end_user_name_under_another_account_is_another_end_user(requester, outsider):
    agent = make_agent("support", model="sim/echo")
    mine, _ = task_submit(owner=requester, agent_name="support", input="hi", end_user="alice")
    theirs, _ = task_submit(owner=outsider, agent_name="support", input="hi", end_user="alice")
    memory_create(agent=agent, text=FACT, author=MemoryAuthor.end_user_of(mine.session))

    def recalled(task: Task) -> list[str]:
        found = memory_recall(agent_id=agent.pk, session=task.session, query=FACT, k=5)
        return [memory.text for memory in found]

    assert recalled(mine) == [FACT]
    assert recalled(theirs) == []
    assert memory_recall(agent_id=agent.pk, session=None, query=FACT, k=5) == []


def test_an_admin_writes_memories_for_every_session_over_the_api(admin_api, requester):
    agent = make_agent("support", model="sim/echo")
    response = admin_api.post(
        "/api/v1/agents/support/memories", {"text": FACT}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert (response.json()["provenance"], response.json()["end_user"]) == ("admin", "")
    task, _ = task_submit(owner=requester, agent_name="support", input="hi", end_user="carol")
    found = memory_recall(agent_id=agent.pk, session=task.session, query=FACT, k=5)
    assert [memory.text for memory in found] == [FACT]

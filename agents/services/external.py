"""Sessions and tools of agents that run elsewhere (the gate API, OTLP ingestion).

Such an agent's session is an ordinary Session whose `external_id` is the caller's own id for
it, with one Task in status `external` that holds its trace and its actions; no worker ever
runs that task. An agent or a tool named for the first time is created here, so that budgets,
costs, the queue and the console treat external work like internal work.
"""

import re
from collections.abc import Collection

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from agents.models import Agent, AgentVersion, Task, Tool
from agents.models.tool import TOOL_NAME_PATTERN
from agents.services.sessions import session_create
from core.errors import Invalid
from tracing.ids import new_trace_id
from tracing.models import Trace

AGENT_NAME = re.compile(r"[-a-zA-Z0-9_]{1,100}")
TOOL_NAME = re.compile(TOOL_NAME_PATTERN)
MAX_SESSION_ID_CHARS = 200
# The model of an agent version Tollgate did not configure: it only names the agent.
EXTERNAL_MODEL = "external"


def external_task_for(*, owner: User, agent_name: str, session_id: str) -> Task:
    """The task of the caller's session `session_id` of `agent_name`, created on first use."""
    if not AGENT_NAME.fullmatch(agent_name):
        raise Invalid("agent must be 1-100 letters, digits, '-' or '_'", field="agent")
    if not 1 <= len(session_id) <= MAX_SESSION_ID_CHARS:
        raise Invalid(f"session must be 1-{MAX_SESSION_ID_CHARS} characters", field="session")
    found = _external_task(owner=owner, agent_name=agent_name, session_id=session_id)
    if found is not None:
        return found
    for attempt in range(2):
        try:
            return _external_task_create(owner=owner, agent_name=agent_name, session_id=session_id)
        except IntegrityError:
            # A concurrent first call created this session (then use it) or this agent (try again).
            found = _external_task(owner=owner, agent_name=agent_name, session_id=session_id)
            if found is not None:
                return found
            if attempt:
                raise
    raise AssertionError("unreachable")


def _external_task_create(*, owner: User, agent_name: str, session_id: str) -> Task:
    with transaction.atomic():
        agent = _agent_for(agent_name)
        session = session_create(agent=agent, owner=owner, external_id=session_id)
        task = Task.objects.create(
            session=session, owner=owner, input=f"external session {session_id}", status=Task.Status.EXTERNAL
        )
        Trace.objects.create(task=task, trace_id=new_trace_id())
        return task


def external_tasks_of_conversations(*, owner: User, session_ids: Collection[str]) -> dict[str, Task]:
    """session id → the task of the caller's session of that id, whichever agent's it is (the
    first made), for the ids that have one; in one query. For traces, whose spans name the
    agent on some spans only."""
    found: dict[str, Task] = {}
    for task in _external_tasks(owner=owner, session_ids=session_ids).order_by("created_at"):
        found.setdefault(task.session.external_id, task)
    return found


def external_tool_name_check(name: str) -> None:
    """Raises Invalid unless `name` can name a tool."""
    if not TOOL_NAME.fullmatch(name):
        raise Invalid("tool must be 1-64 letters, digits, '-' or '_'", field="tool")


def external_tool_or_new(name: str, found: Tool | None) -> Tool:
    """`found`, the tool named `name` as just read (approvals.gate.call_reads reads it with the
    rest of what a gate call reads, fresh on every call: an admin's change of its tier or schema
    applies to the next call); if there is none, a new external tool at GATE_UNKNOWN_TOOL_TIER,
    listed on the console's tools page for an admin to tier."""
    if found is not None:
        return found
    tool, _ = Tool.objects.get_or_create(
        name=name,
        defaults={
            "kind": Tool.Kind.EXTERNAL,
            "risk_tier": settings.GATE_UNKNOWN_TOOL_TIER,
            "description": "first named by an external agent through the gate API",
        },
    )
    return tool


def external_tools_trust(names: Collection[str]) -> dict[str, str]:
    """name → whether its output is trusted: its tool's trust, or for a name no tool has (a span
    may name a tool the gate never saw) the trust external_tool_or_new would give it: untrusted."""
    found = dict(Tool.objects.filter(name__in=names).values_list("name", "trust"))
    default = Tool._meta.get_field("trust").get_default()
    return {name: found.get(name, default) for name in names}


def external_index_next(task: Task) -> int:
    """A new place in the external session: the (task, index) key of an action request, or of
    a detection in a tool output that has none (docs/injection.md)."""
    # Race: concurrent users of one session lock the task's row, so no two get one index.
    locked = Task.objects.select_for_update().only("step_index").get(pk=task.pk)
    Task.objects.filter(pk=task.pk).update(step_index=locked.step_index + 1)
    return locked.step_index


def _external_tasks(*, owner: User, session_ids: Collection[str]) -> QuerySet[Task]:
    """The caller's external tasks of its sessions of these ids (of any agent)."""
    return Task.objects.select_related("session__agent", "trace").filter(
        owner=owner, status=Task.Status.EXTERNAL, session__external_id__in=session_ids
    )


def _external_task(*, owner: User, agent_name: str, session_id: str) -> Task | None:
    tasks = _external_tasks(owner=owner, session_ids=[session_id])
    return tasks.filter(session__agent__name=agent_name).first()


def _agent_for(name: str) -> Agent:
    agents = Agent.objects.select_for_update(of=("self",)).select_related("current_version")
    agent, _ = agents.get_or_create(name=name)
    if agent.current_version is None:
        agent.current_version = AgentVersion.objects.create(agent=agent, number=1, model=EXTERNAL_MODEL)
        agent.save(update_fields=["current_version"])
    return agent

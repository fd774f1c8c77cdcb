"""The gate's external sessions, remembered in each process.

A caller's (agent, session) names the same task for as long as that task exists: none of the
columns the gate reads from it (its id, its session's external id and agent, its trace) ever
changes. So the four-table join that finds it (~3 ms of CPU, most of it the ORM compiling it)
runs once per process and session, not on every call. A task deleted since (with its session
or its owner) makes the action's INSERT fail on its foreign key: the caller forgets it and
looks again (approvals/external/submit.py).
"""

from django.contrib.auth.models import User

from agents.models import Task
from agents.services.external import external_task_for

# Bounded: a process that has seen more sessions than this starts over (each is one lookup).
MAX_REMEMBERED = 10_000

_tasks: dict[tuple[int, str, str], Task] = {}


def gate_task_for(*, owner: User, agent_name: str, session_id: str) -> tuple[Task, bool]:
    """(the session's task, whether it came from this process's memory)."""
    key = (owner.pk, agent_name, session_id)
    task = _tasks.get(key)
    if task is not None:
        return task, True
    task = external_task_for(owner=owner, agent_name=agent_name, session_id=session_id)
    if len(_tasks) >= MAX_REMEMBERED:
        _tasks.clear()
    _tasks[key] = task
    return task, False


def gate_task_forget(*, owner: User, agent_name: str, session_id: str) -> None:
    _tasks.pop((owner.pk, agent_name, session_id), None)

"""Who is told that a task ended: apps that follow tasks they started register a listener in
`AppConfig.ready()` (evals does, to check an eval case as soon as its task ends).

A listener runs in the worker once the task's end is committed, with the task as the run holds
it (the row it loaded: what a listener may use to tell at once whether the task is one of its
own, without a query) and its final status; it must be quick (a few queries; anything that
waits on a model or the network goes into a Celery message) and its failure is only logged
(core.transactions.after_commit). A task that ends without a run (cancelled while queued)
tells no listener: a listener's app sweeps.
"""

from typing import Protocol

from agents.models import Task


class TaskEndListener(Protocol):
    def __call__(self, *, task: Task, status: str) -> None: ...


_listeners: list[TaskEndListener] = []


def task_end_listener_register(listener: TaskEndListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def task_ended(*, task: Task, status: str) -> None:
    for listener in _listeners:
        listener(task=task, status=status)

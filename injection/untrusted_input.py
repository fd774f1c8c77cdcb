"""A task's input, when its agent marks input untrusted (agents fed by public forms): it taints
the session as source "input", and is scanned like an untrusted tool's result."""

from typing import Any

from agents.models import Task
from agents.models.tool import InjectionAction, Trust
from injection.detect import scan
from injection.external import external_classifier
from injection.models import INPUT_SOURCE
from injection.records import detection_record
from injection.taint import session_taint

# Detections of the input have no tool call: this stands for the step and call index.
INPUT_INDEX = -1


def task_input_inspect(*, task: Task) -> None:
    version = task.session.agent_version
    if version.input_trust != Trust.UNTRUSTED:
        return
    found = scan(task.input, tool=None, external=external_classifier())
    session_taint(session_id=task.session_id, source=INPUT_SOURCE, suspicious=found.flagged)
    if found.flagged:
        detection_record(
            task=task,
            agent_name=version.agent.name,
            source=INPUT_SOURCE,
            step_index=INPUT_INDEX,
            call_index=INPUT_INDEX,
            found=found,
            action=InjectionAction.FLAG,
        )


def on_task_saved(sender: type[Task], instance: Task, created: bool, **_: Any) -> None:
    if created:
        task_input_inspect(task=instance)

"""Starting a replay: a new task, in a new session of the replaying user, that plays the
original's recording back (docs/replay.md)."""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from agents.models import AgentVersion, Session, Task
from agents.services.tasks import task_create
from approvals.policy.evaluate import policy_current_version
from approvals.policy.history import policy_at
from core import clock
from core.errors import Conflict, Invalid, NotFound
from replays.models import Replay
from replays.record import MAX_STEPS, TaskRecord, task_record


def replay_start(
    task: Task,
    *,
    by: User,
    agent_version: int | None = None,
    policy_version: int | None = None,
    live_model: bool = False,
) -> Replay:
    """Replay `task` (a finished one) as `by`: under its own agent version or `agent_version`
    (a number of the same agent), under the policy in force or saved version `policy_version`,
    with the recorded model replies or, with `live_model`, the model asked again. Tools never
    run: every call is answered from the original's results, by position."""
    if task.status not in Task.FINAL_STATUSES:
        raise Conflict(f"task {task.id} is {task.status}: only a finished task can be replayed")
    agent = task.session.agent
    version: AgentVersion | None = task.session.agent_version
    if agent_version is not None:
        version = AgentVersion.objects.filter(agent=agent, number=agent_version).first()
    if version is None:
        raise NotFound(f"agent {agent.name!r} has no version {agent_version}", field="agent_version")
    if policy_version is not None and policy_version != policy_current_version():
        policy_at(policy_version)  # NotFound unless that version was saved
    record = task_record(task)
    if len(record.steps) > MAX_STEPS:
        raise Invalid(f"task {task.id} has more than {MAX_STEPS} steps: too long to replay")
    playback = _playback(record, policy_version=policy_version, live_model=live_model)
    with transaction.atomic():
        session = Session.objects.create(agent=agent, agent_version=version, owner=by)
        # Run once this transaction commits, so the worker finds the replay row too.
        replayed = task_create(session=session, owner=by, input=task.input, playback=playback)
        return Replay.objects.create(
            original=task,
            task=replayed,
            agent_version=version,
            policy_version=policy_version,
            live_model=live_model,
            created_by=by,
            created_at=clock.now(),
        )


def _playback(record: TaskRecord, *, policy_version: int | None, live_model: bool) -> dict[str, Any]:
    """The recording as Task.playback (agents/runtime/playback.py): every call's result by its
    position, with what people decided about it; the model's replies unless it is asked live."""
    fixtures = []
    for step in record.steps:
        for call in step.calls:
            if call.result is None:
                continue  # it never got an answer (the task ended while it waited)
            fixture: dict[str, Any] = {
                "tool": call.tool,
                "arguments": call.arguments if isinstance(call.arguments, dict) else None,
                "step": call.step,
                "call": call.call,
                "result": call.result,
            }
            if call.declined:
                fixture["decision"] = call.declined
            fixtures.append(fixture)
    if live_model:
        # A model asked again may call tools at other positions: each result also answers a
        # call of the same tool with equal arguments anywhere (after every positional one).
        fixtures += [{k: v for k, v in fixture.items() if k not in ("step", "call")} for fixture in fixtures]
    playback: dict[str, Any] = {"tool_results": fixtures}
    if not live_model:
        playback["model_replies"] = [step.reply for step in record.steps if step.reply is not None]
    if policy_version is not None:
        playback["policy_version"] = policy_version
    return playback

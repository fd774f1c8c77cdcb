"""REST routes of replays: start one on a task, read one with its diff."""

import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status

from agents.api import request_user
from agents.api.schemas import READ_ERRORS, WRITE_ERRORS, ErrorOut
from agents.selectors import task_get_visible
from replays.diff import replay_diff
from replays.models import Replay
from replays.schemas import ReplayAccepted, ReplayIn, ReplayOut
from replays.selectors import replay_get_visible
from replays.services import replay_start

task_router = Router(tags=["replays"])
router = Router(tags=["replays"])


@task_router.post(
    "/{task_id}/replay",
    response={202: ReplayAccepted, WRITE_ERRORS: ErrorOut},
    summary="Replay a finished task from its recording (anyone who may read it); no tool runs",
)
def start_replay(request: HttpRequest, task_id: uuid.UUID, payload: ReplayIn) -> Status[dict[str, Any]]:
    user = request_user(request)
    task = task_get_visible(task_id=task_id, user=user)
    replay = replay_start(
        task,
        by=user,
        agent_version=payload.agent_version,
        policy_version=payload.policy_version,
        live_model=payload.live_model,
    )
    return Status(
        202,
        {"id": replay.id, "original": task.id, "task": replay.task_id, "status": replay.task.status},
    )


@router.get(
    "/{replay_id}",
    response={200: ReplayOut, READ_ERRORS: ErrorOut},
    summary="A replay's status and its diff against the original, differences first",
)
def get_replay(request: HttpRequest, replay_id: uuid.UUID) -> dict[str, Any]:
    replay = replay_get_visible(replay_id=replay_id, user=request_user(request))
    return replay_out(replay)


def replay_out(replay: Replay) -> dict[str, Any]:
    diff = replay_diff(replay)
    return {
        "id": replay.id,
        "original": replay.original_id,
        "task": replay.task_id,
        "status": replay.task.status,
        "agent": replay.agent_version.agent.name,
        "agent_version": replay.agent_version.number,
        "policy_version": replay.policy_version,
        "live_model": replay.live_model,
        "created_at": replay.created_at,
        "finished": diff["finished"],
        "identical": diff["identical"],
        "differences": diff["differences"],
        "outcome": diff["outcome"],
        "steps": diff["steps"],
    }

"""Console pages of replays: the task page's Replay button posts here; a replay's page shows
its diff against the original, differences first."""

import uuid

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from agents.selectors import task_get_visible
from console.pages.auth import AuthedRequest, login_required
from core.errors import Invalid, NotFound, ServiceError
from replays.diff import replay_diff
from replays.selectors import replay_get_visible
from replays.services import replay_start

# What the form's number fields accept; larger is no version that exists.
MAX_VERSION_DIGITS = 10


@require_POST
@login_required
def replay_start_view(request: AuthedRequest, task_id: uuid.UUID) -> HttpResponse:
    try:
        task = task_get_visible(task_id=task_id, user=request.user)
    except NotFound as error:
        raise Http404(error.message) from error
    try:
        replay = replay_start(
            task,
            by=request.user,
            agent_version=_version(request.POST.get("agent_version"), field="agent_version"),
            policy_version=_version(request.POST.get("policy_version"), field="policy_version"),
            live_model=request.POST.get("live_model") == "on",
        )
    except ServiceError as error:
        messages.error(request, f"Replay not started: {error.message}")
        return redirect("console:task", task_id=task.id)
    return redirect("replays:replay", replay_id=replay.id)


def _version(raw: str | None, *, field: str) -> int | None:
    text = (raw or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_VERSION_DIGITS:
        raise Invalid(f"{field.replace('_', ' ')} must be a whole number", field=field)
    return int(text)


@require_GET
@login_required
def replay_detail(request: AuthedRequest, replay_id: uuid.UUID) -> HttpResponse:
    try:
        replay = replay_get_visible(replay_id=replay_id, user=request.user)
    except NotFound as error:
        raise Http404(error.message) from error
    diff = replay_diff(replay)
    steps = sorted(diff["steps"], key=lambda step: (not step["changed"], step["index"]))
    return render(request, "replays/replay.html", {"replay": replay, "diff": diff, "steps": steps})

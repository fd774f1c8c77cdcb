"""The agents list and an agent's page: its versions and its rollout panel (start a rollout, the
live comparison of its arms, promote or roll back). Reviewers read; admins act."""

import hashlib
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from agents.models import Agent, Rollout
from agents.rollouts.comparison import ArmNumbers, rollout_compare
from agents.rollouts.judge import rollback_reason
from agents.rollouts.services import rollout_get, rollout_promote, rollout_roll_back, rollout_start
from agents.selectors import user_is_admin, user_is_reviewer
from agents.services.version_checks import version_checker
from console.pages.auth import AuthedRequest, role_required
from console.pages.forms import RolloutEndForm, RolloutStartForm
from core.errors import NotFound, ServiceError

PAST_ROLLOUTS_SHOWN = 20
reviewers_only = role_required(user_is_reviewer, denial="only reviewers and admins may see agents")


@require_GET
@reviewers_only
def agent_list(request: AuthedRequest) -> HttpResponse:
    agents = Agent.objects.filter(current_version__isnull=False).select_related("current_version")
    active = {
        rollout.agent_id: rollout
        for rollout in Rollout.objects.filter(status=Rollout.Status.ACTIVE).select_related("canary")
    }
    rows = [{"agent": agent, "rollout": active.get(agent.pk)} for agent in agents.order_by("name")]
    return render(request, "console/agent_list.html", {"rows": rows})


@require_GET
@reviewers_only
def agent_detail(request: AuthedRequest, name: str) -> HttpResponse:
    agent = _agent(name)
    versions = list(agent.versions.order_by("-number")[:50])
    checker = version_checker()
    # A candidate's block says why it waits for a person (a required suite's run in error).
    rows = [{"version": version, "block": checker.blocked(version=version)} for version in versions]
    context = {
        **_panel_context(request, agent),
        "versions": rows,
        "past": Rollout.objects.filter(agent=agent)
        .exclude(status=Rollout.Status.ACTIVE)
        .select_related("baseline", "canary", "ended_by")[:PAST_ROLLOUTS_SHOWN],
        "start_form": RolloutStartForm(agent=agent),
    }
    return render(request, "console/agent_detail.html", context)


@require_GET
@reviewers_only
def agent_rollout_live(request: AuthedRequest, name: str) -> HttpResponse:
    """The rollout panel alone, fetched by console.js every few seconds while a rollout is active."""
    return render(request, "console/_rollout_panel.html", _panel_context(request, _agent(name)))


@require_POST
@reviewers_only
def agent_rollout_start(request: AuthedRequest, name: str) -> HttpResponse:
    _admin(request)
    agent = _agent(name)
    form = RolloutStartForm(request.POST, agent=agent)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("console:agent", name=name)
    values = {key: value for key, value in form.cleaned_data.items() if value is not None}
    try:
        rollout = rollout_start(actor=request.user, agent_name=name, **values)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"Rollout started: {rollout.percent}% of new sessions run v{rollout.canary.number}."
        )
    return redirect("console:agent", name=name)


@require_POST
@reviewers_only
def agent_rollout_end(request: AuthedRequest, name: str, rollout_id: int, action: str) -> HttpResponse:
    _admin(request)
    end = {"promote": rollout_promote, "rollback": rollout_roll_back}.get(action)
    if end is None:
        raise Http404("no such action")
    form = RolloutEndForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        rollout = end(
            rollout=rollout_get(agent_name=name, rollout_id=rollout_id), actor=request.user, reason=reason
        )
    except NotFound as error:
        raise Http404(error.message) from error
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        done = "promoted: it is the current version" if action == "promote" else "rolled back"
        messages.success(request, f"Rollout {rollout.pk} {done}.")
    return redirect("console:agent", name=name)


def _agent(name: str) -> Agent:
    return get_object_or_404(Agent.objects.select_related("current_version"), name=name)


def _admin(request: AuthedRequest) -> None:
    if not user_is_admin(user=request.user):
        raise PermissionDenied("only an admin may start, promote or roll back rollouts")


def _form_errors(form: Any) -> str:
    return "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())


def _panel_context(request: AuthedRequest, agent: Agent) -> dict[str, Any]:
    rollout = (
        Rollout.objects.filter(agent=agent, status=Rollout.Status.ACTIVE)
        .select_related("baseline", "canary", "created_by")
        .first()
    )
    context: dict[str, Any] = {
        "agent": agent,
        "rollout": rollout,
        "may_act": user_is_admin(user=request.user),
    }
    if rollout is None:
        return context
    comparison = rollout_compare(rollout)
    rows = _comparison_rows(comparison.baseline, comparison.canary)
    judgment = rollback_reason(rollout, comparison)
    context |= {
        "rows": rows,
        "judgment": judgment,
        # console.js swaps the panel in only when this changes.
        "numbers_version": hashlib.sha256(repr((rows, judgment)).encode()).hexdigest()[:16],
    }
    return context


def _comparison_rows(baseline: ArmNumbers, canary: ArmNumbers) -> list[tuple[str, str, str]]:
    def percent(value: float | None) -> str:
        return f"{value:.1%}" if value is not None else "—"

    def usd(arm: ArmNumbers) -> str:
        return f"{arm.cost_per_task:.6f}" if arm.cost_per_task is not None else "—"

    def ms(value: float | None) -> str:
        return f"{value:,.0f} ms" if value is not None else "—"

    metrics = [
        ("Sessions", lambda arm: str(arm.sessions)),
        ("Tasks (finished)", lambda arm: f"{arm.tasks} ({arm.finished})"),
        ("Success rate", lambda arm: percent(arm.success_rate)),
        ("Failure rate", lambda arm: percent(arm.failure_rate)),
        ("Cost per task (USD)", usd),
        ("Approvals asked", lambda arm: str(arm.approvals_asked)),
        ("Rejections", lambda arm: str(arm.rejections)),
        ("Latency p50", lambda arm: ms(arm.latency_p50_ms)),
        ("Latency p95", lambda arm: ms(arm.latency_p95_ms)),
    ]
    return [(label, show(baseline), show(canary)) for label, show in metrics]

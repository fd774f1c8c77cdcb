"""Console pages for evals: suites, a suite's cases and runs, a run beside its predecessor, and
a task made into a case. Reviewers read; admins start runs and make cases (the forms that create,
edit and delete suites and cases are in evals/edit_pages.py)."""

import uuid
from typing import TypeVar

from django.contrib import messages
from django.db.models import Model, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agents.models import AgentVersion
from agents.selectors import task_get_visible, user_is_admin, user_is_reviewer
from console.pages.auth import AuthedRequest, role_required
from core.errors import NotFound, ServiceError
from evals.models import EvalRun, EvalSuite
from evals.services.compare import run_compare
from evals.services.from_task import eval_case_from_task
from evals.services.runs import eval_run_start
from evals.services.versions import candidate_block

M = TypeVar("M", bound=Model)

reviewers = role_required(user_is_reviewer, denial="only reviewers and admins may read evals")
admins = role_required(user_is_admin, denial="only an admin may change eval suites and cases or start runs")
RUNS_SHOWN = 20
CASES_SHOWN = 200


@require_GET
@reviewers
def suite_list(request: AuthedRequest) -> HttpResponse:
    suites = EvalSuite.objects.select_related("agent").order_by("agent__name", "name")[:500]
    return render(request, "evals/suites.html", {"suites": suites})


@require_GET
@reviewers
def suite_detail(request: AuthedRequest, suite_id: int) -> HttpResponse:
    suite = suite_or_404(suite_id)
    return render(
        request,
        "evals/suite_detail.html",
        {
            "suite": suite,
            "cases": suite.cases.order_by("name")[:CASES_SHOWN],
            "case_count": suite.cases.count(),
            "runs": suite.runs.select_related("agent_version").order_by("-created_at")[:RUNS_SHOWN],
            "versions": suite.agent.versions.exclude(status=AgentVersion.Status.REJECTED).order_by("-number")[
                :50
            ],
            "current_id": suite.agent.current_version_id,
        },
    )


@require_POST
@admins
def run_start(request: AuthedRequest, suite_id: int) -> HttpResponse:
    suite = suite_or_404(suite_id)
    version = suite.agent.versions.filter(number=_int(request.POST.get("version"))).first()
    if version is None:
        messages.error(request, "Choose a version of the suite's agent.")
        return redirect("evals:suite", suite_id=suite.pk)
    try:
        run = eval_run_start(suite=suite, agent_version=version, by=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("evals:suite", suite_id=suite.pk)
    return redirect("evals:run", run_id=run.pk)


@require_GET
@reviewers
def run_detail(request: AuthedRequest, run_id: uuid.UUID) -> HttpResponse:
    run = EvalRun.objects.select_related("suite__agent", "agent_version").filter(pk=run_id).first()
    if run is None:
        raise Http404("no such run")
    comparison = run_compare(run)
    done = run.cases_passed + run.cases_failed + run.cases_errored
    # The candidate this run decides, blocked when a required run (this one, or another
    # suite's) ended in error: what to re-run.
    # (Not "block" in the template: Django's {% block %} takes that name.)
    blocked = candidate_block(run.agent_version) if run.gates_version else None
    return render(
        request,
        "evals/run_detail.html",
        {
            "run": run,
            "comparison": comparison,
            "counts": comparison.counts(),
            "done": done,
            "blocked": blocked,
            "may_start": user_is_admin(user=request.user),
        },
    )


@require_http_methods(["GET", "POST"])
@admins
def case_from_task(request: AuthedRequest, task_id: uuid.UUID) -> HttpResponse:
    try:
        task = task_get_visible(task_id=task_id, user=request.user)
    except NotFound as error:
        raise Http404(error.message) from error
    suites = EvalSuite.objects.filter(agent_id=task.session.agent_id).order_by("name")
    if request.method == "POST":
        suite = suites.filter(pk=_int(request.POST.get("suite"))).first()
        if suite is None:
            messages.error(request, "Choose a suite of the task's agent.")
        else:
            try:
                case = eval_case_from_task(
                    task=task, suite=suite, by=request.user, name=request.POST.get("name", "")[:200]
                )
            except ServiceError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, f"Case {case.name!r} added to {suite.name}.")
                return redirect("evals:suite", suite_id=suite.pk)
    return render(request, "evals/case_from_task.html", {"task": task, "suites": suites})


def row_or_404(rows: QuerySet[M], row_id: int, *, what: str) -> M:
    """The row of `rows` with this id, or a 404. The path converter takes any digits: an id past
    the column's range is simply not there."""
    row = rows.filter(pk=row_id).first() if row_id < 2**31 else None
    if row is None:
        raise Http404(f"no such {what}")
    return row


def suite_or_404(suite_id: int) -> EvalSuite:
    return row_or_404(EvalSuite.objects.select_related("agent"), suite_id, what="suite")


def _int(value: str | None) -> int:
    try:
        number = int(value or "")
    except ValueError:
        return 0
    return number if 0 < number < 2**31 else 0

"""Console forms that create, edit and delete eval suites and their cases (admins). They call the
services REST calls (evals/services/suites.py), so the rules and the audit live in one place; a
refusal is shown on the form, on the field it names."""

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from agents.models import Agent
from console.pages.auth import AuthedRequest
from core.errors import ServiceError
from evals.forms import CaseForm, SuiteCreateForm, SuiteForm
from evals.models import EvalCase
from evals.pages import admins, row_or_404, suite_or_404
from evals.services.suites import (
    case_create,
    case_delete,
    case_update,
    suite_create,
    suite_delete,
    suite_update,
)

Saved = TypeVar("Saved")


@require_http_methods(["GET", "POST"])
@admins
def suite_new(request: AuthedRequest) -> HttpResponse:
    agents = list(Agent.objects.order_by("name").values_list("name", flat=True))
    form = SuiteCreateForm(request.POST if request.method == "POST" else None, agents=agents)
    if request.method == "POST" and form.is_valid():
        suite = _saved(
            form, lambda data: suite_create(actor=request.user, agent_name=data.pop("agent"), **data)
        )
        if suite is not None:
            messages.success(request, f"Suite {suite.name!r} created for {suite.agent.name}.")
            return redirect("evals:suite", suite_id=suite.pk)
    return render(request, "evals/suite_form.html", {"form": form, "suite": None})


@require_http_methods(["GET", "POST"])
@admins
def suite_edit(request: AuthedRequest, suite_id: int) -> HttpResponse:
    suite = suite_or_404(suite_id)
    initial = {"name": suite.name, "description": suite.description, "required": suite.required}
    form = SuiteForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = _saved(form, lambda data: suite_update(actor=request.user, suite_id=suite.pk, **data))
        if saved is not None:
            messages.success(request, f"Suite {saved.name!r} saved.")
            return redirect("evals:suite", suite_id=suite.pk)
    return render(request, "evals/suite_form.html", {"form": form, "suite": suite})


@require_http_methods(["GET", "POST"])
@admins
def suite_remove(request: AuthedRequest, suite_id: int) -> HttpResponse:
    """GET asks (naming what goes with the suite); POST deletes."""
    suite = suite_or_404(suite_id)
    if request.method == "POST":
        try:
            suite_delete(actor=request.user, suite_id=suite.pk)
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Suite {suite.name!r} of {suite.agent.name} deleted.")
        return redirect("evals:suites")
    return render(
        request,
        "evals/suite_delete.html",
        {"suite": suite, "case_count": suite.cases.count(), "run_count": suite.runs.count()},
    )


@require_http_methods(["GET", "POST"])
@admins
def case_new(request: AuthedRequest, suite_id: int) -> HttpResponse:
    suite = suite_or_404(suite_id)
    form = CaseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        case = _saved(form, lambda data: case_create(actor=request.user, suite_id=suite.pk, **data))
        if case is not None:
            messages.success(request, f"Case {case.name!r} added to {suite.name}.")
            return redirect("evals:suite", suite_id=suite.pk)
    return render(request, "evals/case_form.html", {"form": form, "suite": suite, "case": None})


@require_http_methods(["GET", "POST"])
@admins
def case_edit(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _case_or_404(case_id)
    initial = {
        "name": case.name,
        "input": case.input,
        "fixtures": case.fixtures,
        "live_tools": ", ".join(case.live_tools),
        "checks": case.checks,
    }
    form = CaseForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = _saved(form, lambda data: case_update(actor=request.user, case_id=case.pk, **data))
        if saved is not None:
            messages.success(request, f"Case {saved.name!r} saved.")
            return redirect("evals:suite", suite_id=case.suite_id)
    return render(request, "evals/case_form.html", {"form": form, "suite": case.suite, "case": case})


@require_POST
@admins
def case_remove(request: AuthedRequest, case_id: int) -> HttpResponse:
    """Asked in the browser first (data-confirm on the case's page): a case is one row."""
    case = _case_or_404(case_id)
    try:
        case_delete(actor=request.user, case_id=case.pk)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Case {case.name!r} deleted.")
    return redirect("evals:suite", suite_id=case.suite_id)


def _saved(form: forms.Form, save: Callable[[dict[str, Any]], Saved]) -> Saved | None:
    """`save` with the form's data; a service's refusal becomes an error on the field it names."""
    try:
        return save(dict(form.cleaned_data))
    except ServiceError as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return None


def _case_or_404(case_id: int) -> EvalCase:
    return row_or_404(EvalCase.objects.select_related("suite__agent"), case_id, what="case")

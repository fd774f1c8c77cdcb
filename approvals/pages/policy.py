"""Admin pages: tools' default tiers and compensations, the rules, and a dry run of a draft rule."""

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from agents.models import Tool
from agents.services.catalog import tool_update
from approvals.models import AuditEntry, PolicyRule
from approvals.pages.access import admin_required
from approvals.policy.dry_run import policy_dry_run
from approvals.policy.evaluate import policy_current_version
from approvals.policy.services import (
    RULE_BOUNDS,
    policy_rule_create,
    policy_rule_delete,
    policy_rule_update,
    tool_tier_set,
)
from console.pages.auth import AuthedRequest
from core.errors import ServiceError
from core.tiers import RiskTier

TOOLS_PER_PAGE = 50


def bounded_field(name: str, **options: Any) -> forms.IntegerField:
    least, most = RULE_BOUNDS[name]
    return forms.IntegerField(min_value=least, max_value=most, **options)


class RuleForm(forms.Form):
    tool = forms.CharField(max_length=200, help_text="a tool's name or a glob (issue_*)")
    agent = forms.CharField(max_length=100, required=False)
    condition = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="CEL, e.g. args.amount > 100"
    )
    tier = forms.ChoiceField(choices=RiskTier.choices)
    delay_s = bounded_field("delay_s", initial=300, label="Delay (s, medium)")
    approvals_required = bounded_field("approvals_required", initial=1, label="Approvals required (high)")
    reviewer_group = forms.CharField(max_length=150, initial="reviewers")
    expiry_s = bounded_field("expiry_s", required=False, label="Expiry (s, high)")
    sla_s = bounded_field("sla_s", required=False, label="SLA (s)")
    priority = bounded_field("priority", initial=0)
    raise_only = forms.BooleanField(
        required=False,
        help_text="matched after the other rules; sees their tier as `tier` and only raises it",
    )


class EditForm(forms.Form):
    edit = forms.IntegerField(min_value=1, max_value=2**31 - 1)


class ToolPickForm(forms.Form):
    tool = forms.ModelChoiceField(queryset=Tool.objects.all())


class CompensationForm(forms.Form):
    """A tool's compensation (blank: irreversible) and its arguments as a JSON object of CEL."""

    compensation = forms.CharField(max_length=64, required=False)
    compensation_arguments = forms.JSONField(required=False, max_length=20_000)


class DryRunForm(RuleForm):
    days = forms.IntegerField(initial=7, min_value=1, max_value=90)
    replacing = forms.IntegerField(
        required=False, min_value=1, max_value=2**31 - 1, label="In place of rule (id)"
    )


def _save(form: RuleForm, save: Any) -> Any:
    """Run a service; a refusal becomes an error on the field it names."""
    try:
        return save(**form.cleaned_data)
    except ServiceError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return None


@require_http_methods(["GET", "POST"])
@admin_required
def rules(request: AuthedRequest) -> HttpResponse:
    editing = None
    if request.GET.get("edit"):
        edit = EditForm(request.GET)
        if not edit.is_valid():
            raise Http404("no such rule")
        editing = get_object_or_404(PolicyRule, pk=edit.cleaned_data["edit"])
    initial = {name: getattr(editing, name) for name in RuleForm.base_fields} if editing else None
    form = RuleForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        if editing is not None:
            saved = _save(form, lambda **v: policy_rule_update(actor=request.user, rule_id=editing.pk, **v))
        else:
            saved = _save(form, lambda **v: policy_rule_create(actor=request.user, **v))
        if saved is not None:
            messages.success(request, f"Rule {saved.pk} saved; policy version {policy_current_version()}.")
            return redirect("approvals:rules")
    return render(
        request,
        "approvals/rules.html",
        {
            "rules": PolicyRule.objects.all(),
            "form": form,
            "editing": editing,
            "version": policy_current_version(),
            "audit": AuditEntry.objects.filter(action__startswith="policy.").order_by("-seq")[:20],
        },
    )


@require_POST
@admin_required
def rule_delete(request: AuthedRequest, rule_id: int) -> HttpResponse:
    try:
        policy_rule_delete(actor=request.user, rule_id=rule_id)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Rule {rule_id} deleted.")
    return redirect("approvals:rules")


@require_http_methods(["GET", "POST"])
@admin_required
def tools(request: AuthedRequest) -> HttpResponse:
    if request.method == "POST":
        picked = ToolPickForm(request.POST)
        if not picked.is_valid():
            raise Http404("no such tool")
        tool, tier = picked.cleaned_data["tool"], request.POST.get("risk_tier", "")
        try:
            tool_tier_set(actor=request.user, tool=tool, tier=tier)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{tool.name} is now {tier}.")
        return redirect(_tools_page(request))
    # A page of tools: every name an external agent gives the gate API becomes one, so a year
    # of them is more than one page can hold.
    page = Paginator(Tool.objects.select_related("compensation").order_by("name"), TOOLS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    # Each tool with its compensation arguments as the JSON the form takes back.
    rows = [
        (tool, json.dumps(tool.compensation_arguments) if tool.compensation_arguments else "")
        for tool in page
    ]
    # The compensation's suggestions, listed once for every row's field (not once a row): the
    # tools Tollgate itself calls, as many as were registered. External agents' tools, a year
    # of them, are never called here, so none undoes anything (a typed name is checked anyway).
    names = Tool.objects.exclude(kind=Tool.Kind.EXTERNAL).order_by("name").values_list("name", flat=True)
    context = {"page": page, "rows": rows, "names": names, "tiers": RiskTier.choices}
    return render(request, "approvals/tools.html", context)


@require_POST
@admin_required
def tool_compensation(request: AuthedRequest, tool_id: int) -> HttpResponse:
    """Set or clear what undoes a tool (docs/undo.md), through the same service as REST."""
    tool = get_object_or_404(Tool, pk=tool_id)
    form = CompensationForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{tool.name}: the compensation's arguments must be a JSON object")
        return redirect(_tools_page(request))
    compensation = form.cleaned_data["compensation"] or None
    mapping = form.cleaned_data["compensation_arguments"] or {}
    try:
        tool_update(
            actor=request.user, name=tool.name, compensation=compensation, compensation_arguments=mapping
        )
    except ServiceError as exc:
        messages.error(request, f"{tool.name}: {exc.message}")
    else:
        undone = f"undone by {compensation}" if compensation else "irreversible"
        messages.success(request, f"{tool.name} is {undone}.")
    return redirect(_tools_page(request))


@require_http_methods(["GET", "POST"])
@admin_required
def dry_run(request: AuthedRequest) -> HttpResponse:
    form = DryRunForm(request.POST if request.method == "POST" else None)
    report = None
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        days, replacing = values.pop("days"), values.pop("replacing")
        from approvals.policy.services import validate_rule

        try:
            validate_rule(values)
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            report = policy_dry_run(draft=PolicyRule(**values), days=days, replacing=replacing)
    return render(request, "approvals/dry_run.html", {"form": form, "report": report})


def _tools_page(request: AuthedRequest) -> str:
    """The tools page a form was sent from (its page number kept), to go back to."""
    number = request.GET.get("page", "")
    url = reverse("approvals:tools")
    return f"{url}?page={number}" if number.isdigit() and len(number) < 10 else url

"""Admin page: each tool's trust and injection action, and each agent's input trust."""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from agents.models import Agent, Tool
from agents.models.tool import InjectionAction, Trust
from agents.selectors import user_is_admin
from agents.services.catalog import agent_update, tool_update
from console.pages.auth import AuthedRequest, role_required
from core.errors import ServiceError

admin_required = role_required(user_is_admin, denial="only admins may change trust settings")


class ToolTrustForm(forms.Form):
    tool = forms.ModelChoiceField(queryset=Tool.objects.all(), to_field_name="name")
    trust = forms.ChoiceField(choices=Trust.choices)
    injection_action = forms.ChoiceField(choices=InjectionAction.choices)


class AgentTrustForm(forms.Form):
    agent = forms.ModelChoiceField(queryset=Agent.objects.all(), to_field_name="name")
    input_trust = forms.ChoiceField(choices=Trust.choices)


@require_http_methods(["GET", "POST"])
@admin_required
def trust(request: AuthedRequest) -> HttpResponse:
    if request.method == "POST":
        _save(request)
        return redirect("injection:trust")
    return render(
        request,
        "injection/trust.html",
        {
            "tools": Tool.objects.all(),
            "agents": Agent.objects.select_related("current_version"),
            "trusts": Trust.choices,
            "actions": InjectionAction.choices,
        },
    )


def _save(request: AuthedRequest) -> None:
    tool_form, agent_form = ToolTrustForm(request.POST), AgentTrustForm(request.POST)
    try:
        if tool_form.is_valid():
            tool = tool_update(
                actor=request.user,
                name=tool_form.cleaned_data["tool"].name,
                trust=tool_form.cleaned_data["trust"],
                injection_action=tool_form.cleaned_data["injection_action"],
            )
            messages.success(request, f"{tool.name}: {tool.trust}, {tool.injection_action} on a detection.")
        elif agent_form.is_valid():
            name = agent_form.cleaned_data["agent"].name
            trust = agent_form.cleaned_data["input_trust"]
            version = agent_update(actor=request.user, name=name, input_trust=trust)
            messages.success(request, f"{name} v{version.number}: input is {version.input_trust}.")
        else:
            messages.error(request, "Pick a tool or an agent and a valid setting.")
    except ServiceError as exc:
        messages.error(request, exc.message)

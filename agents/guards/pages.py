"""Console pages for admins: guardrail alerts, tool breakers, and each agent's guard settings."""

import json

import redis
from django import forms
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from agents.guards.breakers import breaker_states
from agents.guards.models import GuardAlert, GuardConfig
from agents.guards.routing import COMPLEXITIES
from agents.models import Agent, Tool
from agents.providers.admission import model_refusal
from core.json_input import StrictJSONField

ALERTS_SHOWN = 100
TOOLS_SHOWN = 50


class GuardConfigForm(forms.ModelForm):
    routing = StrictJSONField(
        required=False,
        help_text=f'complexity → model, e.g. {{"classify": "openai/gpt-4o-mini"}}; complexities: '
        f"{', '.join(COMPLEXITIES)}",
    )

    class Meta:
        model = GuardConfig
        fields = [
            "session_max_tokens",
            "user_day_usd",
            "retry_budget",
            "context_max_tokens",
            "keep_tool_results",
            "routing",
        ]

    def clean_routing(self) -> dict[str, str]:
        routing = self.cleaned_data.get("routing") or {}
        if not isinstance(routing, dict):
            raise forms.ValidationError("a JSON object of complexity → model")
        for complexity, model in routing.items():
            if complexity not in COMPLEXITIES:
                raise forms.ValidationError(f"unknown complexity {complexity!r}")
            if not isinstance(model, str):
                raise forms.ValidationError(f"{complexity}: a model name such as sim/echo or openai/gpt-4o")
            refusal = model_refusal(model)
            if refusal is not None:
                raise forms.ValidationError(f"{complexity}: {refusal}")
        return routing


@require_GET
@staff_member_required
def guards_overview(request: HttpRequest) -> HttpResponse:
    # A page of tools (external agents add one for every new name), their breakers read from
    # Redis in one round trip.
    page = Paginator(Tool.objects.order_by("name").values_list("name", flat=True), TOOLS_SHOWN).get_page(
        request.GET.get("page")
    )
    names = list(page)
    redis_error = ""
    try:
        states = breaker_states(tool_names=names)
    except redis.RedisError as exc:
        redis_error = str(exc)
        states = {name: {"state": "unknown"} for name in names}
    tools = [{"name": name, **states[name]} for name in names]
    agents = Agent.objects.select_related("guard_config").order_by("name")
    return render(
        request,
        "guards/overview.html",
        {
            "alerts": GuardAlert.objects.all()[:ALERTS_SHOWN],
            "tools": tools,
            "page": page,
            "agents": agents,
            "redis_error": redis_error,
        },
    )


@require_http_methods(["GET", "POST"])
@staff_member_required
def guards_agent_config(request: HttpRequest, name: str) -> HttpResponse:
    agent = get_object_or_404(Agent, name=name)
    config = GuardConfig.objects.filter(agent=agent).first() or GuardConfig(agent=agent)
    form = GuardConfigForm(request.POST if request.method == "POST" else None, instance=config)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Guardrails for {agent.name} saved; they apply from a task's next run.")
        return redirect("guards:overview")
    return render(
        request,
        "guards/agent_config.html",
        {"agent": agent, "form": form, "routing_example": json.dumps({"classify": "sim/echo"})},
    )

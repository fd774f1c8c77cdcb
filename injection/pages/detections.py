"""The console's list of detections, filtered, paged, each linked to its task's trace."""

from datetime import timedelta

from django import forms
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from agents.models.tool import InjectionAction
from agents.selectors import user_is_reviewer
from console.pages.auth import AuthedRequest, role_required
from core import clock
from injection.selectors import detections_filtered

PAGE_SIZE = 50

reviewer_required = role_required(user_is_reviewer, denial="only reviewers and admins may read detections")


class DetectionFilter(forms.Form):
    source = forms.CharField(max_length=64, required=False, label="Source tool")
    detector = forms.CharField(max_length=100, required=False)
    agent = forms.CharField(max_length=100, required=False)
    action = forms.ChoiceField(choices=[("", "any"), *InjectionAction.choices], required=False)
    days = forms.IntegerField(min_value=1, max_value=365, required=False, label="Last days")


@require_GET
@reviewer_required
def detection_list(request: AuthedRequest) -> HttpResponse:
    form = DetectionFilter(request.GET)
    values = form.cleaned_data if form.is_valid() else {}
    days = values.get("days")
    rows = detections_filtered(
        source=values.get("source", ""),
        detector=values.get("detector", ""),
        agent=values.get("agent", ""),
        action=values.get("action", ""),
        since=clock.now() - timedelta(days=days) if days else None,
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "injection/detections.html", {"form": form, "page": page})

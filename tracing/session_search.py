"""Session search beyond agent and status: user, stop reason, cost range and creation dates.

The console's sessions list applies these on top of its own query; an invalid value is
ignored (shown as a form error), never a 500.
"""

from typing import Any

from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet

from agents.models import Session, Task


class SessionSearchForm(forms.Form):
    user = forms.CharField(required=False, max_length=150, help_text="owner or end user")
    stop_reason = forms.CharField(required=False, max_length=100)
    cost_min = forms.DecimalField(required=False, min_value=0, max_digits=24, decimal_places=12)
    cost_max = forms.DecimalField(required=False, min_value=0, max_digits=24, decimal_places=12)
    created_from = forms.DateField(required=False)
    created_to = forms.DateField(required=False)


def session_search_apply(sessions: QuerySet[Session], form: SessionSearchForm) -> QuerySet[Session]:
    """`sessions` must carry the `total_cost` annotation of the console's session list."""
    if not form.is_valid():
        return sessions
    data: dict[str, Any] = form.cleaned_data
    if data["user"]:
        sessions = sessions.filter(Q(owner__username=data["user"]) | Q(end_user=data["user"]))
    if data["stop_reason"]:
        # A subquery, not a join: a join on tasks would multiply the list's per-task sums.
        stopped = Task.objects.filter(session_id=OuterRef("pk"), stop_reason=data["stop_reason"])
        sessions = sessions.filter(Exists(stopped))
    if data["cost_min"] is not None:
        sessions = sessions.filter(Q(total_cost__gte=data["cost_min"]))
    if data["cost_max"] is not None:
        sessions = sessions.filter(Q(total_cost__lte=data["cost_max"]))
    if data["created_from"]:
        sessions = sessions.filter(created_at__date__gte=data["created_from"])
    if data["created_to"]:
        sessions = sessions.filter(created_at__date__lte=data["created_to"])
    return sessions

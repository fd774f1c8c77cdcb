"""The alerts page: the rules with their thresholds (editable by admins) and recent firings."""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from agents.selectors import user_is_admin
from console.pages.auth import AuthedRequest
from tracing.alerts.services import MIN_SAMPLES_MAX, WINDOW_S_MAX, WINDOW_S_MIN, alert_rule_update
from tracing.models import Alert, AlertRule
from tracing.pages.access import admin_required, operator_required

RECENT_ALERTS = 100


class AlertRuleForm(forms.Form):
    threshold = forms.DecimalField(min_value=0, max_digits=12, decimal_places=4)
    window_s = forms.IntegerField(min_value=WINDOW_S_MIN, max_value=WINDOW_S_MAX, label="Window (s)")
    min_samples = forms.IntegerField(min_value=1, max_value=MIN_SAMPLES_MAX)
    enabled = forms.BooleanField(required=False)


@require_GET
@operator_required
def alert_list(request: AuthedRequest) -> HttpResponse:
    rules = list(AlertRule.objects.order_by("kind"))
    alerts = list(Alert.objects.select_related("rule").order_by("state", "-fired_at")[:RECENT_ALERTS])
    firing = {alert.rule_id for alert in alerts if alert.state == Alert.State.FIRING}
    context = {
        "rules": [(rule, rule.pk in firing) for rule in rules],
        "alerts": alerts,
        "can_edit": user_is_admin(user=request.user),
    }
    return render(request, "tracing/alerts.html", context)


@require_POST
@admin_required
def alert_rule_edit(request: AuthedRequest, kind: str) -> HttpResponse:
    rule = AlertRule.objects.filter(kind=kind).first()
    if rule is None:
        raise Http404("no such rule")
    form = AlertRuleForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{name}: {' '.join(map(str, errs))}" for name, errs in form.errors.items())
        messages.error(request, f"{rule}: not saved ({errors})")
        return redirect("tracing:alerts")
    alert_rule_update(actor=request.user, rule=rule, **form.cleaned_data)
    messages.success(request, f"{rule}: saved; the next evaluation uses it.")
    return redirect("tracing:alerts")

"""Admin page: notification channels per reviewer group, Slack user links, a test button."""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import Group
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from approvals.models import PolicyRule
from approvals.pages.access import admin_required
from console.pages.auth import AuthedRequest
from core.errors import ServiceError
from notifications.channels import (
    WAITING_TIERS,
    group_channels_save,
    group_channels_snapshot,
    group_channels_test,
    secrets_present,
    slack_user_link_delete,
    slack_user_link_save,
)
from notifications.models import GroupChannels, SlackUserLink

MAX_LINKS_SHOWN = 500


class ChannelsForm(forms.Form):
    reviewer_group = forms.CharField(max_length=150)
    slack_channel = forms.CharField(max_length=80, required=False, help_text="a channel id, e.g. C0123ABCD")
    slack_dm_members = forms.BooleanField(
        required=False,
        label="Slack DMs",
        help_text="also a card in a DM to each member with a linked Slack user",
    )
    emails = forms.CharField(max_length=2000, required=False, help_text="comma-separated addresses")
    pagerduty_key_env = forms.CharField(
        max_length=64,
        required=False,
        label="PagerDuty key variable",
        help_text="PAGERDUTY_KEY_<NAME>, set in the environment",
    )
    tiers = forms.MultipleChoiceField(
        choices=[(tier.value, tier.value) for tier in WAITING_TIERS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    events = forms.MultipleChoiceField(
        choices=GroupChannels.Event.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    def clean_emails(self) -> list[str]:
        field = forms.EmailField()
        return [field.clean(part.strip()) for part in self.cleaned_data["emails"].split(",") if part.strip()]


class SlackLinkForm(forms.Form):
    slack_user_id = forms.CharField(max_length=40, label="Slack user id")
    username = forms.CharField(max_length=150, label="Tollgate user")


def _initial(group: str) -> dict[str, Any]:
    """The form filled with a group's current channels, to edit them ("Edit" on a row)."""
    row = GroupChannels.objects.filter(reviewer_group=group).first() if group else None
    if row is None:
        return {}
    return {
        "reviewer_group": row.reviewer_group,
        **group_channels_snapshot(row),
        "emails": ", ".join(row.emails),
    }


def _groups() -> list[str]:
    names = set(Group.objects.values_list("name", flat=True)) | set(
        PolicyRule.objects.values_list("reviewer_group", flat=True)
    )
    return sorted(names | set(GroupChannels.objects.values_list("reviewer_group", flat=True)))


@require_http_methods(["GET", "POST"])
@admin_required
def channels(request: AuthedRequest) -> HttpResponse:
    form = ChannelsForm(request.POST or None, initial=_initial(str(request.GET.get("group", ""))[:150]))
    if request.method == "POST" and form.is_valid():
        try:
            group_channels_save(actor=request.user, **form.cleaned_data)
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Channels of {form.cleaned_data['reviewer_group']} saved.")
            return redirect("notifications:channels")
    rows = [(row, secrets_present(row)) for row in GroupChannels.objects.order_by("reviewer_group")]
    return render(
        request,
        "notifications/channels.html",
        {
            "form": form,
            "rows": rows,
            "groups": _groups(),
            "secrets": secrets_present(),
            "link_form": SlackLinkForm(),
            "links": SlackUserLink.objects.select_related("user").order_by("slack_user_id")[:MAX_LINKS_SHOWN],
        },
    )


@require_POST
@admin_required
def channels_test(request: AuthedRequest, channels_id: int) -> HttpResponse:
    row = get_object_or_404(GroupChannels, pk=channels_id)
    for line in group_channels_test(channels=row):
        messages.info(request, line)
    return redirect("notifications:channels")


@require_POST
@admin_required
def slack_link_save(request: AuthedRequest) -> HttpResponse:
    form = SlackLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a Slack user id and a Tollgate username.")
        return redirect("notifications:channels")
    try:
        slack_user_link_save(actor=request.user, **form.cleaned_data)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Slack user linked.")
    return redirect("notifications:channels")


@require_POST
@admin_required
def slack_link_delete(request: AuthedRequest, link_id: int) -> HttpResponse:
    try:
        slack_user_link_delete(actor=request.user, link_id=link_id)
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("notifications:channels")

"""Forms parse what the browser sent; the rules (known agent, non-empty input) live in services."""

import uuid
from typing import Any

from django import forms

from agents.models import Agent, AgentVersion, Session
from agents.models.rollout import MAX_MIN_TASKS
from agents.rollouts.services import MAX_REASON_CHARS
from console.models import ApiToken


class TaskSubmitForm(forms.Form):
    agent = forms.CharField(max_length=100, widget=forms.Select)
    # Not stripped and not length-checked beyond a sane cap: task_submit decides what is valid.
    input = forms.CharField(strip=False, max_length=100_000, widget=forms.Textarea(attrs={"rows": 8}))
    end_user = forms.CharField(
        required=False,
        max_length=Session._meta.get_field("end_user").max_length,
        label="End-user id",
        help_text="optional: the person this task acts for",
    )
    # A fresh key per rendered form, so a double-clicked or resent form submits one task.
    submission_key = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, agents: list[str], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"submission_key": uuid.uuid4().hex})
        super().__init__(*args, **kwargs)
        self.fields["agent"].widget.choices = [("", "— choose an agent —"), *((n, n) for n in agents)]


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text="what the token is for, e.g. “billing service”",
    )


class UndoForm(forms.Form):
    """One action's undo (its id), or all of them: only with `confirm` ticked."""

    action = forms.RegexField(regex=r"^[0-9a-f-]{36}:\d{1,9}:\d{1,9}$", required=False, max_length=60)
    confirm = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("action") and not data.get("confirm"):
            raise forms.ValidationError("tick the box to confirm undoing every action of the session")
        return data


class RolloutStartForm(forms.Form):
    """Ranges are rollout_start's to check; the form only parses."""

    canary_version = forms.TypedChoiceField(coerce=int, label="Canary version")
    percent = forms.IntegerField(min_value=1, max_value=99, initial=10, help_text="of new sessions")
    failure_rate_multiple = forms.DecimalField(
        required=False, max_digits=6, decimal_places=2, help_text="default 2.0"
    )
    cost_multiple = forms.DecimalField(
        required=False, max_digits=6, decimal_places=2, help_text="default 1.5"
    )
    min_tasks = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_MIN_TASKS,
        help_text="finished canary tasks before judging; default 20",
    )

    def __init__(self, *args: Any, agent: Agent, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        versions = agent.versions.exclude(id=agent.current_version_id or 0).order_by("-number")[:50]
        canary: forms.TypedChoiceField = self.fields["canary_version"]  # type: ignore[assignment]
        canary.choices = [(version.number, _version_label(version)) for version in versions]


def _version_label(version: AgentVersion) -> str:
    # Every version offered was current once, or is a draft, candidate or rejected: say which of
    # the last three (status `current` of a version that no longer is would mislead).
    label = f"v{version.number} · {version.model}"
    return label if version.status == AgentVersion.Status.CURRENT else f"{label} · {version.status}"


class RolloutEndForm(forms.Form):
    reason = forms.CharField(required=False, max_length=MAX_REASON_CHARS)

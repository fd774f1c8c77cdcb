"""Forms parse what the browser sent; the rules (known agent, non-empty input) live in services."""

import uuid
from typing import Any

from django import forms

from agents.models import Session
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

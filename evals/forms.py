"""Console forms for suites and cases. They only parse what the browser sent, within the API's
text bounds (evals/limits.py); every rule (a known agent, unique names, fixtures' shape, check
specs, counts) is the services' (evals/services/suites.py), as it is for REST."""

import json
from typing import Any

from django import forms

from core.json_input import StrictJSONField
from evals.limits import MAX_DESCRIPTION_CHARS, MAX_INPUT_CHARS, MAX_LIVE_TOOLS, MAX_NAME_CHARS

# Room for MAX_LIVE_TOOLS tool names of at most 64 characters, each with ", " after it: longer
# text would be refused by the service anyway (too many names, or a name too long).
LIVE_TOOLS_CHARS = MAX_LIVE_TOOLS * 66


class IndentedJSONEncoder(json.JSONEncoder):
    """Shows a case's fixtures and checks one key a line: they are edited by hand."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**{**options, "indent": 2})


class TextareaField(forms.CharField):
    """Text from a textarea, whose line breaks a browser sends as CRLF: kept as the newlines it
    was written with (over REST, or in this form before), and measured so (max_length)."""

    widget = forms.Textarea

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value)).replace("\r\n", "\n")


class SuiteForm(forms.Form):
    name = forms.CharField(max_length=MAX_NAME_CHARS)
    description = TextareaField(
        required=False, max_length=MAX_DESCRIPTION_CHARS, widget=forms.Textarea(attrs={"rows": 3})
    )
    required = forms.BooleanField(
        required=False, help_text="a new version of the agent is a candidate until a run of this suite passes"
    )


class SuiteCreateForm(SuiteForm):
    # A select of the agents' names; whether the agent exists is suite_create's to say.
    agent = forms.CharField(max_length=100, widget=forms.Select)
    field_order = ["agent", "name", "description", "required"]

    def __init__(self, *args: Any, agents: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"].widget.choices = [("", "— choose an agent —"), *((n, n) for n in agents)]


class CaseForm(forms.Form):
    name = forms.CharField(max_length=MAX_NAME_CHARS)
    # Not stripped: the input is the task's, as typed.
    input = TextareaField(strip=False, max_length=MAX_INPUT_CHARS, widget=forms.Textarea(attrs={"rows": 6}))
    fixtures = StrictJSONField(
        required=False,
        encoder=IndentedJSONEncoder,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text='recorded tool results, a JSON list: [{"tool": "lookup_order", "arguments": null, '
        '"result": {"status": "success", "data": {}}}] (docs/evals.md)',
    )
    live_tools = forms.CharField(
        required=False,
        max_length=LIVE_TOOLS_CHARS,
        label="Live tools",
        help_text="tools that run for real in this case, comma-separated",
    )
    checks = StrictJSONField(
        required=False,
        encoder=IndentedJSONEncoder,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text='check specs, a JSON list: [{"kind": "cel", "expr": "status == \\"succeeded\\""}]; '
        'none: "the task succeeded" (docs/evals.md)',
    )

    def clean_live_tools(self) -> list[str]:
        return [name.strip() for name in self.cleaned_data["live_tools"].split(",") if name.strip()]

    def clean_fixtures(self) -> Any:
        return _none_as_empty(self.cleaned_data["fixtures"])

    def clean_checks(self) -> Any:
        return _none_as_empty(self.cleaned_data["checks"])


def _none_as_empty(value: Any) -> Any:
    # A blank box (or null) means none; anything else is the service's to judge, a list or not.
    return [] if value is None else value

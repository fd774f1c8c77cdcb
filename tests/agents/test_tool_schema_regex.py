"""Tool schemas' regular expressions: checked under RE2 at registration, run by RE2 at call time.

"^(a+)+$" used to be accepted and run by Python's backtracking `re` against a model's
arguments: 2**40 steps for 40 "a"s and a "!", a worker held for as long. RE2 runs in linear
time; the tests prove which engine runs by patterns only RE2 understands (`\\pL`), which
Python's `re` refuses with an error.
"""

import pytest

from agents.models import Tool
from agents.tools.executor import tool_call_execute
from agents.tools.schema import MAX_SCHEMA_DEPTH, arguments_errors
from tests.api.test_tools import URL, tool_body

pytestmark = pytest.mark.django_db

CATASTROPHIC = "^(a+)+$"


def with_properties(properties: dict, **more) -> dict:
    return {"type": "object", "properties": properties, **more}


def register(client, parameters: dict):
    return client.post(URL, tool_body(parameters=parameters), content_type="application/json")


@pytest.mark.parametrize(
    ("parameters", "pattern"),
    [
        (with_properties({"code": {"type": "string", "pattern": "(a)\\1"}}), "(a)\\\\1"),
        (with_properties({"code": {"type": "string", "pattern": "^(?=a)a"}}), "^(?=a)a"),
        (with_properties({}, patternProperties={"(?<!x)y": {"type": "string"}}), "(?<!x)y"),
        (with_properties({"nested": with_properties({"c": {"pattern": "a{2000}{2000}"}})}), "a{2000}{2000}"),
    ],
    ids=["backreference", "lookahead", "lookbehind-key", "nested-huge-repeat"],
)
def test_a_pattern_re2_cannot_run_is_refused_naming_it(admin_api, parameters, pattern):
    response = register(admin_api, parameters)
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["field"] == "parameters"
    assert pattern in error["message"]
    assert "RE2" in error["message"]
    assert not Tool.objects.exists()


def test_a_catastrophic_pattern_is_accepted_because_re2_runs_it_in_linear_time(admin_api):
    parameters = with_properties(
        {"code": {"type": "string", "pattern": CATASTROPHIC}},
        patternProperties={"^(b+)+$": {"type": "integer"}},
        additionalProperties=False,
    )
    assert register(admin_api, parameters).status_code == 201
    tool = Tool.objects.get()

    # Under Python's `re` each of these takes about 2**60 steps; RE2 answers at once.
    errors = arguments_errors(tool.parameters, {"code": "a" * 60 + "!", "b" * 60 + "!": 1})

    assert errors == [
        "arguments: " + repr("b" * 60 + "!") + " does not match any of the regexes: '^(b+)+$'",
        "code: " + repr("a" * 60 + "!") + " does not match '^(a+)+$'",
    ]


def test_pattern_pattern_properties_and_additional_properties_run_under_re2():
    r"""`\pL` (a letter) is RE2 syntax that Python's `re` rejects with an error."""
    schema = with_properties(
        {"name": {"type": "string", "pattern": "^\\pL+$"}},
        patternProperties={"^\\pL+_id$": {"type": "integer"}},
        additionalProperties=False,
    )
    assert arguments_errors(schema, {"name": "Zoë", "order_id": 7}) == []
    assert arguments_errors(schema, {"name": "Zoë1", "order_id": "7", "x1": 0}) == [
        "arguments: 'x1' does not match any of the regexes: '^\\\\pL+_id$'",
        "name: 'Zoë1' does not match '^\\\\pL+$'",
        "order_id: '7' is not of type 'integer'",
    ]


def test_the_regex_format_is_checked_by_re2():
    schema = with_properties({"rule": {"type": "string", "format": "regex"}})
    assert arguments_errors(schema, {"rule": "^\\pL+$"}) == []
    assert arguments_errors(schema, {"rule": "(a)\\1"}) == ["rule: '(a)\\\\1' is not a 'regex'"]


def test_unevaluated_properties_beside_pattern_properties_is_refused(admin_api):
    parameters = with_properties({}, patternProperties={"^x": {}}, unevaluatedProperties=False)
    response = register(admin_api, parameters)
    assert response.status_code == 422
    assert "unevaluatedProperties" in response.json()["error"]["message"]


def test_a_tool_registered_before_the_check_cannot_be_called_but_says_why():
    tool = Tool.objects.create(
        name="legacy",
        url="https://shop.example/legacy",
        parameters=with_properties({"code": {"type": "string", "pattern": "(a)\\1"}}),
    )
    result = tool_call_execute(tool=tool, arguments={"code": "aa"}, idempotency_key="k-1")
    assert result.status == "error"
    assert result.error_type == "permanent"
    assert "(a)\\\\1" in result.message
    assert "an admin must fix it" in result.message


def test_a_schema_too_deep_or_too_long_is_refused(admin_api):
    deep: dict = {"type": "object"}
    for _ in range(MAX_SCHEMA_DEPTH // 2):  # each wrap is two levels: properties, then the name
        deep = with_properties({"a": deep})
    response = register(admin_api, deep)
    assert response.status_code == 422
    assert "nested deeper" in response.json()["error"]["message"]

    long = with_properties({f"p{n}": {"type": "string", "description": "x" * 100} for n in range(700)})
    response = register(admin_api, long)
    assert response.status_code == 422
    assert "longer than" in response.json()["error"]["message"]
    assert not Tool.objects.exists()

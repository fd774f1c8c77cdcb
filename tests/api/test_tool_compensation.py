"""A tool's compensation and its argument mapping: validated on every way in, evaluated bounded."""

import pytest
from django.test import Client

from agents.models import Tool
from agents.tools.compensation import compensation_arguments_evaluate
from approvals.models import AuditEntry

URL = "/api/v1/tools"
REVERSE_SCHEMA = {
    "type": "object",
    "properties": {"refund_id": {"type": "string"}, "amount": {"type": "number"}},
    "required": ["refund_id"],
}
MAPPING = {"refund_id": "result.data.refund_id", "amount": "args.amount"}


def register(api, name: str, **fields) -> dict:
    body = {"name": name, "url": f"https://shop.example/{name}", "risk_tier": "high"} | fields
    response = api.post(URL, body, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def tools(admin_api) -> None:
    register(admin_api, "reverse_refund", parameters=REVERSE_SCHEMA)
    register(admin_api, "issue_refund")


def patch(api, name: str, body: dict):
    return api.patch(f"{URL}/{name}", body, content_type="application/json")


def undone_by(mapping: dict, compensation: str = "reverse_refund") -> dict:
    return {"compensation": compensation, "compensation_arguments": mapping}


def evaluate(tool: Tool, *, args: dict, result: dict):
    return compensation_arguments_evaluate(
        tool=tool, compensation=tool.compensation, args=args, result=result
    )


def test_an_admin_names_a_compensation_and_it_is_shown_and_audited(admin_api, tools):
    response = patch(admin_api, "issue_refund", undone_by(MAPPING))
    assert response.status_code == 200, response.content
    assert response.json()["compensation"] == "reverse_refund"
    assert response.json()["compensation_arguments"] == MAPPING
    listed = {item["name"]: item["compensation"] for item in admin_api.get(URL).json()["items"]}
    assert listed == {"issue_refund": "reverse_refund", "reverse_refund": None}
    entry = AuditEntry.objects.filter(action="tool.updated", object_id="issue_refund").get()
    assert (entry.before["compensation"], entry.after["compensation"]) == (None, "reverse_refund")

    cleared = patch(admin_api, "issue_refund", {"compensation": None})
    assert cleared.status_code == 200
    assert (cleared.json()["compensation"], cleared.json()["compensation_arguments"]) == (None, {})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            undone_by({"refund_id": "result.data.("}),
            "not valid CEL",
        ),
        (
            undone_by({"nope": "args.x"}),
            "takes no argument 'nope'",
        ),
        (
            undone_by({"amount": "args.amount"}),
            "requires refund_id",
        ),
        (undone_by({}, "issue_refund"), "its own compensation"),
        ({"compensation": "no_such_tool"}, "no tool named 'no_such_tool'"),
        ({"compensation_arguments": MAPPING}, "need a compensation tool"),
        (
            {
                "compensation": "reverse_refund",
                "compensation_arguments": {"refund_id": "(" * 9 + "1" + ")" * 9},
            },
            "compensation_arguments.refund_id nests brackets 9 deep; the limit is 8",
        ),
        (
            {
                "compensation": "reverse_refund",
                "compensation_arguments": {
                    "refund_id": "[1].map(a, [2].map(b, [3].map(c, c))).size() > 0 ? 'x' : 'y'"
                },
            },
            "nests comprehension macros 3 deep",
        ),
    ],
)
def test_a_bad_mapping_is_refused_naming_what_is_wrong(admin_api, tools, body, message):
    response = patch(admin_api, "issue_refund", body)
    assert response.status_code == 422, response.content
    assert message in response.json()["error"]["message"]
    assert Tool.objects.get(name="issue_refund").compensation is None


def test_hostile_mappings_are_refused_at_the_boundary(admin_api, tools):
    too_long = {"refund_id": "1" * 501}
    too_many = {f"a{i}": "1" for i in range(33)}
    for mapping in (too_long, too_many, {"refund_id": 5}, ["refund_id"]):
        body = {"compensation": "reverse_refund", "compensation_arguments": mapping}
        assert patch(admin_api, "issue_refund", body).status_code == 422, mapping
    assert (
        register(admin_api, "refund_v2", compensation="reverse_refund", compensation_arguments=MAPPING)[
            "compensation"
        ]
        == "reverse_refund"
    )


def test_only_admins_set_a_compensation(reviewer_api, tools):
    body = undone_by(MAPPING)
    assert patch(reviewer_api, "issue_refund", body).status_code == 403


def test_a_tool_that_compensates_another_cannot_be_deleted(admin_api, tools):
    patch(admin_api, "issue_refund", undone_by(MAPPING))
    response = admin_api.delete(f"{URL}/reverse_refund")
    assert response.status_code == 409
    assert "compensation of issue_refund" in response.json()["error"]["message"]


def test_the_tools_page_and_the_django_admin_validate_the_same_way(admin, admin_api, tools):
    client = Client()
    client.force_login(admin)
    tool = Tool.objects.get(name="issue_refund")
    page = f"/approvals/tools/{tool.pk}/compensation/"
    bad = client.post(
        page,
        {"compensation": "reverse_refund", "compensation_arguments": '{"refund_id": "args."}'},
        follow=True,
    )
    assert "not valid CEL" in bad.content.decode()
    mapping = '{"refund_id": "result.data.refund_id"}'
    good = client.post(page, {"compensation": "reverse_refund", "compensation_arguments": mapping})
    assert good.status_code == 302
    tool.refresh_from_db()
    assert tool.compensation.name == "reverse_refund"
    assert mapping in client.get("/approvals/tools/").content.decode()

    reverse = Tool.objects.get(name="reverse_refund")
    change = f"/admin/agents/tool/{tool.pk}/change/"
    refused = client.post(
        change, {"compensation": reverse.pk, "compensation_arguments": '{"amount": "args.amount"}'}
    )
    assert refused.status_code == 200
    assert "requires refund_id" in refused.content.decode()
    saved = client.post(change, {"compensation": "", "compensation_arguments": "{}"})
    assert saved.status_code == 302
    tool.refresh_from_db()
    assert tool.compensation is None
    assert AuditEntry.objects.filter(action="tool.updated", object_id="issue_refund").count() == 2


def test_the_mapping_is_evaluated_bounded_and_every_failure_is_an_error(admin_api, tools):
    patch(admin_api, "issue_refund", undone_by(MAPPING))
    tool = Tool.objects.select_related("compensation").get(name="issue_refund")
    result = {"status": "success", "data": {"refund_id": "re_1"}}
    call = compensation_arguments_evaluate(
        tool=tool, compensation=tool.compensation, args={"amount": 5}, result=result
    )
    assert (call.tool, call.arguments, call.error) == (
        "reverse_refund",
        {"amount": 5, "refund_id": "re_1"},
        "",
    )
    missing = compensation_arguments_evaluate(
        tool=tool,
        compensation=tool.compensation,
        args={"amount": 5},
        result={"status": "success", "data": {}},
    )
    assert missing.arguments is None
    assert missing.error.startswith("refund_id: KeyError")
    tool.compensation_arguments = {"refund_id": "b'x'"}
    not_json = compensation_arguments_evaluate(
        tool=tool, compensation=tool.compensation, args={}, result=result
    )
    assert not_json.error == "refund_id: the expression gave bytes, which is not JSON"
    # A macro over a large result runs in the evaluator process and stops at the budget.
    tool.compensation_arguments = {
        "refund_id": "result.data.l.exists(x, result.data.l.exists(y, x == y + 9999))"
    }
    slow = compensation_arguments_evaluate(
        tool=tool, compensation=tool.compensation, args={}, result={"data": {"l": list(range(3000))}}
    )
    assert slow.error.startswith("refund_id: stopped: timed out")

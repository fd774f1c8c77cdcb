"""Every resource the same way: list, read, change, delete where it makes sense; roles; audit."""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from agents.models import Agent, Session, Task, Tool
from agents.services.tasks import task_submit
from approvals.models import AuditEntry, PolicyVersion
from tests.approvals.conftest import make_request
from tests.factories import make_agent, make_http_tool

JSON = "application/json"


def audited(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action))


# Tools


def test_tools_are_listed_read_changed_and_deleted_with_an_audit_trail(admin_api, admin):
    make_http_tool("lookup_order", "https://shop.example/a", risk_tier="low")
    make_http_tool("refund", "https://shop.example/r", risk_tier="high")

    listed = admin_api.get("/api/v1/tools", {"risk_tier": "high"}).json()
    assert [tool["name"] for tool in listed["items"]] == ["refund"]
    assert admin_api.get("/api/v1/tools/refund").json()["url"] == "https://shop.example/r"

    changed = admin_api.patch(
        "/api/v1/tools/refund", {"url": "https://shop.example/v2/r", "timeout_s": 3}, content_type=JSON
    )
    assert changed.status_code == 200, changed.content
    assert Tool.objects.get(name="refund").url == "https://shop.example/v2/r"
    [entry] = audited("tool.updated")
    assert entry.actor_name == "admin"
    assert entry.before["url"] == "https://shop.example/r"
    assert entry.after["url"] == "https://shop.example/v2/r"

    assert admin_api.delete("/api/v1/tools/refund").status_code == 204
    assert not Tool.objects.filter(name="refund").exists()
    assert audited("tool.deleted")[0].before["risk_tier"] == "high"


def test_a_tool_change_is_checked_like_a_registration(admin_api):
    make_http_tool("lookup_order", "https://shop.example/a", risk_tier="low")

    private = admin_api.patch("/api/v1/tools/lookup_order", {"url": "http://10.0.0.5/x"}, content_type=JSON)
    tier = admin_api.patch("/api/v1/tools/lookup_order", {"risk_tier": "low"}, content_type=JSON)
    empty = admin_api.patch("/api/v1/tools/lookup_order", {}, content_type=JSON)

    assert (private.status_code, private.json()["error"]["field"]) == (422, "url")
    assert tier.status_code == 422  # the tier is the policy's: PUT /policy/tools/{name}
    assert empty.status_code == 422
    assert Tool.objects.get().url == "https://shop.example/a"
    assert not audited("tool.updated")


def test_a_tool_an_agent_version_lists_is_not_deleted(admin_api):
    tool = make_http_tool("lookup_order", "https://shop.example/a", risk_tier="low")
    make_agent("support", model="sim/echo", tools=[tool])

    response = admin_api.delete("/api/v1/tools/lookup_order")

    assert response.status_code == 409
    assert "support" in response.json()["error"]["message"]
    assert Tool.objects.filter(name="lookup_order").exists()


def test_reviewers_read_tools_and_only_admins_change_them(reviewer_api, requester_api):
    make_http_tool("lookup_order", "https://shop.example/a", risk_tier="low")

    assert reviewer_api.get("/api/v1/tools").status_code == 200
    assert requester_api.get("/api/v1/tools").status_code == 403
    assert (
        reviewer_api.patch("/api/v1/tools/lookup_order", {"timeout_s": 2}, content_type=JSON).status_code
        == 403
    )
    assert reviewer_api.delete("/api/v1/tools/lookup_order").status_code == 403
    assert reviewer_api.get("/api/v1/tools/nope").status_code == 404


def test_an_admin_sets_a_tool_tier_as_a_new_audited_policy_version(admin_api, reviewer_api):
    make_http_tool("refund", "https://shop.example/r", risk_tier="low")
    versions = PolicyVersion.objects.count()

    response = admin_api.put("/api/v1/policy/tools/refund", {"risk_tier": "high"}, content_type=JSON)

    assert response.status_code == 200, response.content
    assert response.json()["risk_tier"] == "high"
    assert Tool.objects.get().risk_tier == "high"
    assert PolicyVersion.objects.count() == versions + 1
    assert audited("policy.tool_tier_changed")[0].after["risk_tier"] == "high"
    assert admin_api.get("/api/v1/policy/tools").json() == [response.json()]
    assert (
        reviewer_api.put("/api/v1/policy/tools/refund", {"risk_tier": "low"}, content_type=JSON).status_code
        == 403
    )


# Agents


def test_agents_are_listed_with_their_versions_and_rolled_back_with_an_audit_entry(
    admin_api, admin, requester
):
    created = admin_api.post("/api/v1/agents", {"name": "support", "model": "sim/echo"}, content_type=JSON)
    assert created.status_code == 201, created.content
    admin_api.patch("/api/v1/agents/support", {"model": "sim/refund"}, content_type=JSON)

    listed = admin_api.get("/api/v1/agents").json()["items"]
    assert [(a["name"], a["version"], a["model"]) for a in listed] == [("support", 2, "sim/refund")]
    versions = admin_api.get("/api/v1/agents/support/versions").json()["items"]
    assert [(v["version"], v["current"]) for v in versions] == [(2, True), (1, False)]

    rolled = admin_api.post("/api/v1/agents/support/rollback", {"version": 1}, content_type=JSON)

    assert rolled.status_code == 200, rolled.content
    assert (rolled.json()["version"], rolled.json()["model"], rolled.json()["current"]) == (
        1,
        "sim/echo",
        True,
    )
    assert admin_api.get("/api/v1/agents/support").json()["version"] == 1
    [entry] = audited("agent.rolled_back")
    assert (entry.actor_name, entry.before, entry.after) == ("admin", {"version": 2}, {"version": 1})
    # New sessions run the version rolled back to; the next edit counts from the newest.
    task, _ = task_submit(owner=requester, agent_name="support", input="hi")
    assert Session.objects.get(pk=task.session_id).agent_version.number == 1
    edited = admin_api.patch("/api/v1/agents/support", {"system_prompt": "v3"}, content_type=JSON).json()
    assert (edited["version"], edited["model"]) == (3, "sim/echo")
    assert [e.action for e in AuditEntry.objects.filter(object_type="agent")] == [
        "agent.created",
        "agent.updated",
        "agent.rolled_back",
        "agent.updated",
    ]


@pytest.mark.parametrize(("version", "status"), [(2, 409), (9, 404)])
def test_rolling_back_to_the_current_or_a_missing_version_is_refused(admin_api, version, status):
    admin_api.post("/api/v1/agents", {"name": "support", "model": "sim/echo"}, content_type=JSON)
    admin_api.patch("/api/v1/agents/support", {"model": "sim/refund"}, content_type=JSON)
    if status == 409:
        version = 2

    response = admin_api.post("/api/v1/agents/support/rollback", {"version": version}, content_type=JSON)

    assert response.status_code == status
    assert Agent.objects.get().current_version.number == 2
    assert not audited("agent.rolled_back")


def test_only_admins_roll_back(reviewer_api):
    make_agent("support", model="sim/echo")
    response = reviewer_api.post("/api/v1/agents/support/rollback", {"version": 1}, content_type=JSON)
    assert response.status_code == 403
    assert reviewer_api.get("/api/v1/agents/support/versions/1").json()["current"] is True


# Sessions and tasks


def test_users_list_their_own_sessions_and_tasks_and_reviewers_all(
    requester_api, requester, reviewer_api, outsider
):
    make_agent("support", model="sim/echo")
    mine, _ = task_submit(owner=requester, agent_name="support", input="hi", end_user="dana")
    theirs, _ = task_submit(owner=outsider, agent_name="support", input="yo", end_user="eve")

    own_tasks = requester_api.get("/api/v1/tasks").json()["items"]
    all_tasks = reviewer_api.get("/api/v1/tasks").json()["items"]
    own_sessions = requester_api.get("/api/v1/sessions").json()["items"]

    assert [t["id"] for t in own_tasks] == [str(mine.id)]
    assert {t["id"] for t in all_tasks} == {str(mine.id), str(theirs.id)}
    assert [(s["id"], s["user"], s["agent_version"]) for s in own_sessions] == [
        (str(mine.session_id), "dana", 1)
    ]
    assert requester_api.get(f"/api/v1/sessions/{theirs.session_id}").status_code == 404
    assert reviewer_api.get(f"/api/v1/sessions/{theirs.session_id}").json()["owner"] == "outsider"
    assert [t["id"] for t in reviewer_api.get("/api/v1/tasks", {"user": "eve"}).json()["items"]] == [
        str(theirs.id)
    ]


def test_tasks_filter_by_status_agent_and_session_and_carry_their_timings(requester_api, requester):
    make_agent("support", model="sim/echo")
    make_agent("sales", model="sim/echo")
    done, _ = task_submit(owner=requester, agent_name="support", input="a")
    task_submit(owner=requester, agent_name="sales", input="b")
    Task.objects.filter(pk=done.pk).update(
        status="succeeded", started_at=done.created_at, finished_at=done.created_at
    )

    by_status = requester_api.get("/api/v1/tasks", {"status": "succeeded"}).json()["items"]
    by_agent = requester_api.get("/api/v1/tasks", {"agent": "sales"}).json()["items"]
    by_session = requester_api.get("/api/v1/tasks", {"session": str(done.session_id)}).json()["items"]

    assert [t["id"] for t in by_status] == [str(done.id)] == [t["id"] for t in by_session]
    assert [t["agent"] for t in by_agent] == ["sales"]
    assert by_status[0]["duration_s"] == 0.0
    assert by_status[0]["session"] == str(done.session_id)
    assert "steps" not in by_status[0]


# Action requests


def test_action_requests_filter_and_carry_their_call_and_times(reviewer_api, requester):
    first = make_request(requester)
    second = make_request(requester, tool_name="issue_refund")

    by_task = reviewer_api.get("/api/v1/approvals", {"task": str(first.task_id)}).json()["items"]
    by_tool = reviewer_api.get("/api/v1/approvals", {"tool": "issue_refund", "status": "pending"}).json()[
        "items"
    ]
    one = reviewer_api.get(f"/api/v1/approvals/{second.id}").json()

    assert [r["id"] for r in by_task] == [str(first.id)]
    assert [r["id"] for r in by_tool] == [str(second.id)]
    assert (one["step_index"], one["call_index"], one["decided_at"], one["executed_at"]) == (0, 0, None, None)


def test_a_request_outside_the_reviewers_groups_does_not_exist_for_them(requester):
    request = make_request(requester, reviewer_group="finance")
    stranger = User.objects.create_user("stranger")
    stranger.groups.add(Group.objects.get_or_create(name="reviewers")[0])
    from console.tokens import api_token_create

    raw, _ = api_token_create(user=stranger, name="t")
    client = Client(headers={"Authorization": f"Bearer {raw}"})

    assert client.get(f"/api/v1/approvals/{request.id}").status_code == 404
    assert client.get("/api/v1/approvals").json()["items"] == []


# Alert rules and tokens


def test_an_admin_changes_an_alert_rule_with_an_audit_entry(admin_api, reviewer_api):
    rules = reviewer_api.get("/api/v1/alerts/rules").json()
    assert "tool_error_rate" in [rule["kind"] for rule in rules]

    refused = reviewer_api.patch(
        "/api/v1/alerts/rules/tool_error_rate", {"enabled": False}, content_type=JSON
    )
    changed = admin_api.patch(
        "/api/v1/alerts/rules/tool_error_rate", {"threshold": "0.1", "enabled": False}, content_type=JSON
    )

    assert refused.status_code == 403
    assert changed.status_code == 200, changed.content
    assert (changed.json()["threshold"], changed.json()["enabled"]) == ("0.1000", False)
    [entry] = audited("alert_rule.updated")
    assert (entry.before["enabled"], entry.after["enabled"]) == (True, False)
    assert reviewer_api.get("/api/v1/alerts", {"state": "firing"}).json() == {"items": [], "next": None}


def test_a_user_creates_lists_and_revokes_their_own_tokens(requester_api, reviewer_api):
    created = requester_api.post("/api/v1/tokens", {"name": "ci"}, content_type=JSON)
    assert created.status_code == 201, created.content
    raw, token_id = created.json()["token"], created.json()["id"]
    fresh = Client(headers={"Authorization": f"Bearer {raw}"})
    assert fresh.get("/api/v1/tokens").status_code == 200
    assert "ci" in [t["name"] for t in requester_api.get("/api/v1/tokens").json()["items"]]
    assert "token" not in requester_api.get(f"/api/v1/tokens/{token_id}").json()

    assert reviewer_api.delete(f"/api/v1/tokens/{token_id}").status_code == 404
    assert requester_api.delete(f"/api/v1/tokens/{token_id}").status_code == 204

    assert fresh.get("/api/v1/tokens").status_code == 401
    assert requester_api.get(f"/api/v1/tokens/{token_id}").json()["revoked_at"] is not None


def test_the_list_counts_approvals_of_the_current_version_as_a_read_does(reviewer_api, requester):
    request = make_request(requester, approvals_required=2)
    other = make_request(requester)

    approved = reviewer_api.post(
        f"/api/v1/approvals/{request.id}/decision", {"decision": "approve"}, content_type=JSON
    )

    assert approved.json()["approvals"] == 1
    listed = {item["id"]: item["approvals"] for item in reviewer_api.get("/api/v1/approvals").json()["items"]}
    assert listed == {str(request.id): 1, str(other.id): 0}


@pytest.mark.parametrize(
    "url", ["/api/v1/tasks", "/api/v1/approvals", "/api/v1/sessions", "/api/v1/agents", "/api/v1/tools"]
)
def test_a_page_costs_the_same_queries_for_2_rows_as_for_12(admin_api, requester, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_api.get(url).status_code == 200
        return len(captured.captured_queries)

    def add(count: int) -> None:
        for _ in range(count):
            make_request(requester)
            tool = make_http_tool(f"tool_{Tool.objects.count()}", "https://shop.example/t", risk_tier="low")
            make_agent(f"agent-{Agent.objects.count()}", model="sim/echo", tools=[tool])

    add(2)
    queries()  # the token's once-a-minute last_used_at write is not a page's cost
    few = queries()
    add(10)
    assert queries() == few


def test_a_tasks_steps_are_paged_and_read_one_at_a_time(requester_api, requester, outsider_api):
    from agents.models import Step
    from core import clock

    make_agent("support", model="sim/echo")
    task, _ = task_submit(owner=requester, agent_name="support", input="hi")
    for index in range(5):
        Step.objects.create(
            task=task,
            index=index,
            model="sim/echo",
            response={"content": f"s{index}"},
            started_at=clock.now(),
        )
    url = f"/api/v1/tasks/{task.id}/steps"

    first = requester_api.get(url, {"order": "oldest", "limit": 3}).json()
    rest = requester_api.get(first["next"]).json()

    assert [s["index"] for s in first["items"] + rest["items"]] == [0, 1, 2, 3, 4]
    assert requester_api.get(f"{url}/3").json()["content"] == "s3"
    assert requester_api.get(f"{url}/9").status_code == 404
    assert outsider_api.get(url).status_code == 404

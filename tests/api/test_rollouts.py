"""/api/v1/agents/{name}/rollouts: start, list, read with the comparison, promote, roll back."""

import pytest

from agents.models import Agent, AgentVersion, Rollout
from agents.services.tasks import task_submit
from approvals.models import AuditEntry
from tests.factories import make_agent

JSON = "application/json"
URL = "/api/v1/agents/bot/rollouts"


@pytest.fixture
def bot(db) -> Agent:
    agent = make_agent("bot", model="sim/echo")
    AgentVersion.objects.create(agent=agent, number=2, model="sim/echo", system_prompt="New.")
    return agent


def start(client, **body):
    return client.post(URL, {"canary_version": 2, "percent": 25} | body, content_type=JSON)


def test_an_admin_starts_a_rollout_and_reviewers_read_it_with_its_comparison(
    admin_api, reviewer_api, requester, bot
):
    started = start(admin_api, cost_multiple="1.25", min_tasks=5)

    assert started.status_code == 201, started.content
    body = started.json()
    assert {
        key: body[key] for key in ("agent", "status", "baseline_version", "canary_version", "percent")
    } == {
        "agent": "bot",
        "status": "active",
        "baseline_version": 1,
        "canary_version": 2,
        "percent": 25,
    }
    assert (body["failure_rate_multiple"], body["cost_multiple"], body["min_tasks"]) == ("2.00", "1.25", 5)
    assert (body["created_by"], body["ended_by"], body["judgment"]) == ("admin", None, None)
    assert body["comparison"]["canary"]["tasks"] == 0
    assert body["comparison"]["canary"]["cost_per_task_usd"] is None

    for _ in range(40):
        task_submit(owner=requester, agent_name="bot", input="hi")
    detail = reviewer_api.get(f"{URL}/{body['id']}")
    assert detail.status_code == 200, detail.content
    arms = detail.json()["comparison"]
    assert arms["baseline"]["tasks"] + arms["canary"]["tasks"] == 40
    assert arms["baseline"]["tasks"] > arms["canary"]["tasks"] > 0
    assert (arms["baseline"]["version"], arms["canary"]["version"]) == (1, 2)
    assert arms["canary"]["cost_usd"] == "0.000000"

    listed = reviewer_api.get(URL, {"status": "active"}).json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    assert reviewer_api.get(URL, {"status": "promoted"}).json()["items"] == []


def test_sessions_say_which_rollout_and_arm_chose_their_version(admin_api, requester_api, bot):
    rollout_id = start(admin_api, percent=50).json()["id"]
    accepted = requester_api.post("/api/v1/tasks", {"agent": "bot", "input": "hi"}, content_type=JSON)

    session = requester_api.get(f"/api/v1/sessions/{accepted.json()['session']}").json()

    assert session["rollout"] == rollout_id
    assert session["rollout_arm"] in ("baseline", "canary")
    assert session["agent_version"] == (2 if session["rollout_arm"] == "canary" else 1)


def test_promote_makes_the_canary_current_once_and_is_audited(admin_api, bot):
    rollout_id = start(admin_api).json()["id"]

    promoted = admin_api.post(f"{URL}/{rollout_id}/promote", {"reason": "fine"}, content_type=JSON)

    assert promoted.status_code == 200, promoted.content
    assert (promoted.json()["status"], promoted.json()["ended_by"]) == ("promoted", "admin")
    assert admin_api.get("/api/v1/agents/bot").json()["version"] == 2
    [entry] = AuditEntry.objects.filter(action="rollout.promoted")
    assert (entry.actor_name, entry.object_id, entry.after["reason"]) == ("admin", str(rollout_id), "fine")
    again = admin_api.post(f"{URL}/{rollout_id}/rollback", {}, content_type=JSON)
    assert again.status_code == 409
    assert again.json()["error"]["message"] == f"rollout {rollout_id} has already ended (promoted)"


def test_roll_back_keeps_the_baseline_current_and_is_audited(admin_api, bot):
    rollout_id = start(admin_api).json()["id"]

    rolled_back = admin_api.post(f"{URL}/{rollout_id}/rollback", {"reason": "slower"}, content_type=JSON)

    assert rolled_back.status_code == 200, rolled_back.content
    assert (rolled_back.json()["status"], rolled_back.json()["ended_reason"]) == ("rolled_back", "slower")
    assert admin_api.get("/api/v1/agents/bot").json()["version"] == 1
    [entry] = AuditEntry.objects.filter(action="rollout.rolled_back")
    assert entry.actor_name == "admin"
    # Ended, the agent may be edited again and a new rollout may start.
    assert admin_api.patch("/api/v1/agents/bot", {"system_prompt": "x"}, content_type=JSON).status_code == 200


def test_only_admins_change_rollouts_and_only_reviewers_read_them(
    admin_api, reviewer_api, requester_api, bot
):
    assert start(reviewer_api).status_code == 403
    assert start(requester_api).status_code == 403
    rollout_id = start(admin_api).json()["id"]
    assert requester_api.get(URL).status_code == 403
    assert requester_api.get(f"{URL}/{rollout_id}").status_code == 403
    for action in ("promote", "rollback"):
        refused = reviewer_api.post(f"{URL}/{rollout_id}/{action}", {}, content_type=JSON)
        assert refused.status_code == 403
    assert Rollout.objects.get().status == "active"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"percent": 0}, 422, "percent"),
        ({"percent": 100}, 422, "percent"),
        ({"percent": "ten"}, 422, "percent"),
        ({"canary_version": 1}, 409, "canary_version"),
        ({"canary_version": 9}, 404, "canary_version"),
        ({"canary_version": 2**40}, 422, "canary_version"),
        ({"failure_rate_multiple": "0.5"}, 422, "failure_rate_multiple"),
        ({"cost_multiple": "1e400"}, 422, "cost_multiple"),
        ({"cost_multiple": "1.234"}, 422, "cost_multiple"),
        ({"cost_multiple": None}, 422, "cost_multiple"),
        ({"min_tasks": 0}, 422, "min_tasks"),
        ({"min_tasks": 10**9}, 422, "min_tasks"),
        ({"baseline_version": 1}, 422, "baseline_version"),
    ],
)
def test_a_bad_start_is_a_clear_4xx(admin_api, bot, body, status, field):
    refused = start(admin_api, **body)

    assert refused.status_code == status, refused.content
    assert refused.json()["error"]["field"] == field
    assert not Rollout.objects.exists()


def test_a_second_rollout_an_edit_or_an_unknown_agent_or_rollout_is_refused(admin_api, bot):
    rollout_id = start(admin_api).json()["id"]

    second = start(admin_api)
    assert second.status_code == 409
    assert second.json()["error"]["rollout"] == rollout_id
    assert admin_api.patch("/api/v1/agents/bot", {"system_prompt": "x"}, content_type=JSON).status_code == 409
    assert admin_api.post("/api/v1/agents/bot/rollback", {"version": 2}, content_type=JSON).status_code == 409
    assert (
        admin_api.post(
            "/api/v1/agents/nobody/rollouts", {"canary_version": 2, "percent": 5}, content_type=JSON
        ).status_code
        == 404
    )
    assert admin_api.get("/api/v1/agents/nobody/rollouts").status_code == 404
    assert admin_api.get(f"{URL}/{rollout_id + 1}").status_code == 404
    assert admin_api.get(f"{URL}/{2**70}").status_code == 422
    assert (
        admin_api.post(f"{URL}/{rollout_id}/promote", {"reason": "x" * 2001}, content_type=JSON).status_code
        == 422
    )
    assert admin_api.post(f"{URL}/{rollout_id}/promote", {"why": "x"}, content_type=JSON).status_code == 422
    assert Rollout.objects.get().status == "active"

"""Replays over REST and in the console: who may start and read one, and what a client can break."""

import pytest
from django.test import Client

from agents.models import Task
from replays.models import Replay
from tests.replays.conftest import Recorded, run

pytestmark = pytest.mark.django_db(transaction=True)


def start(client, task_id, body=None):
    return client.post(f"/api/v1/tasks/{task_id}/replay", body or {}, content_type="application/json")


def test_a_reviewer_replays_a_task_and_reads_the_diff(recorded: Recorded, reviewer_api):
    response = start(reviewer_api, recorded.task.id)
    assert response.status_code == 202, response.content
    body = response.json()
    replay = Replay.objects.get(pk=body["id"])
    assert (body["original"], body["task"]) == (str(recorded.task.id), str(replay.task_id))
    assert body["status"] == "queued"

    pending = reviewer_api.get(f"/api/v1/replays/{replay.id}").json()
    assert (pending["finished"], pending["identical"], pending["steps"]) == (False, False, [])

    run(replay.task)
    done = reviewer_api.get(f"/api/v1/replays/{replay.id}")
    assert done.status_code == 200, done.content
    done = done.json()
    assert (done["status"], done["finished"], done["identical"], done["differences"]) == (
        "succeeded",
        True,
        True,
        [],
    )
    assert (done["agent"], done["agent_version"], done["policy_version"], done["live_model"]) == (
        "five",
        1,
        None,
        False,
    )
    assert [step["index"] for step in done["steps"]] == [0, 1, 2, 3, 4, 5]


def test_only_those_who_may_read_the_task_may_replay_it_or_read_the_replay(
    recorded: Recorded, requester_api, outsider_api
):
    assert start(outsider_api, recorded.task.id).status_code == 404
    response = start(requester_api, recorded.task.id)  # its owner
    assert response.status_code == 202, response.content
    replay_id = response.json()["id"]
    assert outsider_api.get(f"/api/v1/replays/{replay_id}").status_code == 404
    assert requester_api.get(f"/api/v1/replays/{replay_id}").status_code == 200


BAD_REQUESTS = [
    ({"agent_version": 9}, 404, "agent_version"),
    ({"policy_version": 999}, 404, "policy_version"),
    ({"policy_version": -1}, 422, "policy_version"),
    ({"agent_version": 2**40}, 422, "agent_version"),
    ({"agent_version": None}, 422, "agent_version"),
    ({"live_model": {"x": 1}}, 422, "live_model"),
    ({"extra": 1}, 422, "extra"),
]


def test_a_bad_replay_request_is_a_clear_4xx(recorded: Recorded, reviewer_api):
    for body, status, field in BAD_REQUESTS:
        response = start(reviewer_api, recorded.task.id, body)
        assert response.status_code == status, (body, response.content)
        assert response.json()["error"]["field"] == field
    assert not Replay.objects.exists()


def test_a_task_still_running_cannot_be_replayed(recorded: Recorded, reviewer_api):
    Task.objects.filter(pk=recorded.task.pk).update(status=Task.Status.RUNNING)
    response = start(reviewer_api, recorded.task.id)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert reviewer_api.get("/api/v1/replays/00000000-0000-0000-0000-000000000000").status_code == 404


def test_the_task_page_replays_and_the_replay_page_shows_the_diff(recorded: Recorded, reviewer):
    client = Client()
    client.force_login(reviewer)
    page = client.get(f"/tasks/{recorded.task.id}/")
    assert f'action="/replays/tasks/{recorded.task.id}/"' in page.content.decode()

    for bad in ("x1", "\u00b2", "9" * 11, "-1"):
        refused = client.post(f"/replays/tasks/{recorded.task.id}/", {"policy_version": bad})
        assert refused.status_code == 302, bad
        assert refused["Location"] == f"/tasks/{recorded.task.id}/"
    assert not Replay.objects.exists()

    response = client.post(f"/replays/tasks/{recorded.task.id}/", {"policy_version": ""})
    replay = Replay.objects.get()
    assert response["Location"] == f"/replays/{replay.id}/"
    assert "replaying…" in client.get(response["Location"]).content.decode()

    run(replay.task)
    html = client.get(response["Location"]).content.decode()
    assert 'id="replay-verdict">identical<' in html
    assert "wipe_tool" in html
    assert "person_must_act" in html

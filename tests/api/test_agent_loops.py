"""The `loops` settings of an agent over REST: per-agent loop detection, global defaults otherwise."""

import pytest

URL = "/api/v1/agents"

pytestmark = pytest.mark.django_db


def create(client, **fields):
    body = {"name": "looper", "model": "sim/loop"} | fields
    return client.post(URL, body, content_type="application/json")


def test_an_agent_without_loop_settings_shows_the_global_defaults(admin_api, settings):
    settings.LOOP_SIMILARITY_THRESHOLD = 0.9
    response = create(admin_api)
    assert response.status_code == 201
    assert response.json()["loops"] == {"threshold": 0.9, "window": 3, "repeat_limit": 3}


def test_loop_settings_are_kept_per_version_and_patched_field_by_field(admin_api):
    assert create(admin_api, loops={"threshold": 0.97, "window": 4}).json()["loops"] == {
        "threshold": 0.97,
        "window": 4,
        "repeat_limit": 3,
    }

    patched = admin_api.patch(
        f"{URL}/looper", {"loops": {"repeat_limit": 5}}, content_type="application/json"
    )

    assert patched.json()["version"] == 2
    assert patched.json()["loops"] == {"threshold": 0.97, "window": 4, "repeat_limit": 5}


@pytest.mark.parametrize(
    "loops",
    [{"threshold": 1.5}, {"threshold": 0}, {"window": 0}, {"repeat_limit": 1}, {"threshold": None}, {"k": 3}],
)
def test_out_of_range_loop_settings_are_refused(admin_api, loops):
    response = create(admin_api, loops=loops)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"

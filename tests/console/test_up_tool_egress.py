"""`manage.py up` lets the demo's tools reach the local simulator, and only its port on loopback."""

from urllib.parse import urlsplit

import pytest

from agents.models import Tool
from agents.tools.executor import tool_call_execute
from console.management.commands.up import demo_tool_egress_env


@pytest.mark.parametrize(
    ("simulator_url", "added"),
    [
        ("http://127.0.0.1:8765", "127.0.0.1:8765"),
        ("http://[::1]:9000", "[::1]:9000"),
        ("http://localhost", "localhost:80"),
    ],
)
def test_the_local_simulator_s_port_is_added_to_the_allow_list(settings, simulator_url, added):
    settings.SIMULATOR_URL = simulator_url
    settings.TOOL_EGRESS_ALLOW = ["10.0.0.0/8"]

    assert demo_tool_egress_env() == {"TOOL_EGRESS_ALLOW": f"10.0.0.0/8,{added}"}


def test_a_remote_simulator_adds_nothing(settings):
    settings.SIMULATOR_URL = "https://sim.example"

    assert demo_tool_egress_env() == {}


def test_the_demo_s_tools_work_and_the_rest_of_loopback_stays_refused(settings, simulator_url):
    settings.SIMULATOR_URL = simulator_url
    settings.TOOL_EGRESS_ALLOW = []  # not the test settings' loopback: only what `up` adds
    settings.TOOL_EGRESS_ALLOW = demo_tool_egress_env()["TOOL_EGRESS_ALLOW"].split(",")
    redis_port = 6379 if urlsplit(simulator_url).port != 6379 else 6380

    def call(url: str) -> str:
        tool = Tool(name="lookup_order", url=url, method="POST", kind=Tool.Kind.HTTP, parameters={})
        result = tool_call_execute(tool=tool, arguments={"order_id": "A-1001"}, idempotency_key="k")
        return result.status if result.status == "success" else result.message

    assert call(f"{simulator_url}/tools/lookup_order") == "success"
    assert "not allowed" in call(f"http://127.0.0.1:{redis_port}/")

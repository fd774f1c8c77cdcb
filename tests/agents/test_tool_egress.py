"""SSRF: an HTTP tool reaches only public addresses, and what TOOL_EGRESS_ALLOW adds, checked at connect time.

The test settings allow loopback for the other tests' tool servers; every test here sets the
allow-list itself. Where a refusal must happen before any packet, the socket layer is replaced
by a recorder that fails every connect, so the test also proves nothing was attempted.
"""

import json
import socket
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

import httpcore
import pytest

from agents.models import Tool
from agents.runtime.loop import task_steps_run
from agents.services.tasks import task_submit
from agents.tools.executor import tool_call_execute
from agents.tools.result import ToolResult
from tests.factories import make_agent, make_http_tool
from tests.support.http import serving
from tracing.models import Span

# A public address for the resolver to answer; nothing is ever sent to it (see `connects`).
PUBLIC = "93.184.215.14"


def call(url: str) -> ToolResult:
    tool = Tool(name="probe", url=url, method="POST", timeout_s=5, kind=Tool.Kind.HTTP, parameters={})
    return tool_call_execute(tool=tool, arguments={}, idempotency_key="k")


def assert_refused(result: ToolResult) -> None:
    assert (result.status, result.error_type, result.retry_safe) == ("error", "permanent", False)
    assert "not allowed" in result.message
    assert "TOOL_EGRESS_ALLOW" in result.message


@pytest.fixture
def connects(monkeypatch) -> list[tuple[str, int]]:
    """Every TCP connect httpcore attempts, none of which leaves the process."""
    attempted: list[tuple[str, int]] = []

    def refuse(self: Any, host: str, port: int, *args: Any, **kwargs: Any) -> None:
        attempted.append((host, port))
        raise httpcore.ConnectError("no network in this test")

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", refuse)
    return attempted


@pytest.fixture
def resolver(monkeypatch) -> list[list[str]]:
    """A resolver for `rebind.example`: each lookup takes the next list of answers."""
    answers: list[list[str]] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))
            for address in answers.pop(0)
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.fixture
def no_allow_list(settings) -> None:
    settings.TOOL_EGRESS_ALLOW = []


def test_a_loopback_tool_is_refused_without_the_allow_list_and_called_with_it(settings, tool_server):
    url, server = tool_server
    settings.TOOL_EGRESS_ALLOW = []

    assert_refused(call(url))
    assert server.requests == 0, "the refusal came before any request reached the server"

    settings.TOOL_EGRESS_ALLOW = [f"127.0.0.1:{urlsplit(url).port}"]
    allowed = call(url)

    assert allowed.status == "success", allowed.message
    assert server.requests == 1


def test_an_allowed_port_does_not_open_the_rest_of_loopback(settings, connects):
    settings.TOOL_EGRESS_ALLOW = ["127.0.0.1:8765"]

    result = call("http://127.0.0.1:6379/")  # Redis's port

    assert_refused(result)
    assert "127.0.0.1 is a loopback address" in result.message
    assert connects == []


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("[fd00:ec2::254]", "private"),  # AWS metadata over IPv6
        ("10.0.0.5", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - a destination under test, not a bind
        ("224.0.0.1", "multicast"),
        ("[::ffff:127.0.0.1]", "loopback"),  # IPv4-mapped
        ("[64:ff9b::a9fe:a9fe]", "link-local"),  # NAT64 form of 169.254.169.254
        ("2130706433", "loopback"),  # 127.0.0.1 as one number, which the resolver accepts
        ("0x7f.1", "loopback"),
    ],
)
def test_internal_addresses_are_refused_before_any_packet(no_allow_list, connects, host, reason):
    result = call(f"http://{host}/latest/meta-data/")

    assert_refused(result)
    assert f"{reason} address" in result.message
    assert connects == [], "no connection was attempted"


def test_a_name_that_resolves_to_loopback_is_refused(no_allow_list, tool_server):
    url, server = tool_server

    assert_refused(call(f"http://localhost:{urlsplit(url).port}/"))
    assert server.requests == 0


def test_a_name_with_any_internal_address_is_refused(no_allow_list, connects, resolver):
    resolver.append([PUBLIC, "127.0.0.1"])

    assert_refused(call("http://rebind.example/"))
    assert connects == []


def test_each_connection_checks_the_name_and_connects_to_the_address_it_checked(
    no_allow_list, connects, resolver
):
    # DNS rebinding: a public answer for the first look-up, loopback for the next.
    resolver.extend([[PUBLIC], ["127.0.0.1"]])

    first = call("http://rebind.example:8080/")
    second = call("http://rebind.example:8080/")

    assert first.error_type == "transient", "the public address was tried (and failed: no network here)"
    assert connects == [(PUBLIC, 8080)], "the socket went to the checked address, not to the name again"
    assert_refused(second)
    assert connects == [(PUBLIC, 8080)]
    assert resolver == [], "the name was resolved once per connection"


def test_an_allowed_host_name_is_allowed_wherever_it_resolves(settings, tool_server):
    url, server = tool_server
    settings.TOOL_EGRESS_ALLOW = ["LocalHost"]

    assert call(f"http://localhost:{urlsplit(url).port}/").status == "success"
    assert server.requests == 1


def test_a_redirect_to_loopback_is_not_followed(settings, tool_server):
    target_url, target = tool_server

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(302)
            self.send_header("Location", f"{target_url}/internal")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with serving(Redirect) as redirect_url:
        settings.TOOL_EGRESS_ALLOW = [f"127.0.0.1:{urlsplit(redirect_url).port}"]
        result = call(redirect_url)

    assert (result.status, result.error_type) == ("error", "permanent")
    assert "redirect" in result.message
    assert target.requests == 0


@pytest.mark.django_db(transaction=True)
def test_a_refused_call_reaches_the_model_as_a_tool_error_and_is_traced(
    requester, use_simulator, tool_server, settings
):
    url, server = tool_server
    tool = make_http_tool("probe", f"{url}/metrics")
    make_agent("prober", model="sim/chain?calls=1&tool=probe", tools=[tool])
    settings.TOOL_EGRESS_ALLOW = []
    task, _ = task_submit(owner=requester, agent_name="prober", input="go")

    task_steps_run(task_id=task.id, max_steps=10, max_seconds=60)

    task.refresh_from_db()
    assert task.status == task.Status.SUCCEEDED, "the task carried on; nothing raised"
    reply = json.loads(task.messages[2]["content"])
    assert (reply["status"], reply["error_type"], reply["retry_safe"]) == ("error", "permanent", False)
    assert "TOOL_EGRESS_ALLOW" in reply["message"]
    span = Span.objects.get(trace__task=task, kind=Span.Kind.TOOL)
    assert span.status == Span.Status.ERROR
    assert span.attributes["error.type"] == "permanent"
    assert "not allowed" in span.output["message"]
    assert server.requests == 0

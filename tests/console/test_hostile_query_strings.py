"""Every console URL, walked with hostile query strings, paths and forms: never a 5xx.

The URLs come from the resolver, so a new page is walked without being listed here; a page
whose URL takes an argument this file cannot fill fails the walk until it is taught one.
"""

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from agents.memory.services import MemoryAuthor, memory_create
from agents.models import AgentVersion, Tool
from agents.rollouts.services import rollout_start
from agents.services.tasks import task_submit
from approvals.models import PolicyRule
from approvals.policy.services import RULE_FIELDS
from console.tokens import api_token_create
from evals.models import EvalCase, EvalRun, EvalSuite
from notifications.email_links import email_links_create
from notifications.models import GroupChannels, SlackUserLink
from replays.models import Replay
from tests.approvals.conftest import make_request
from tests.factories import make_agent
from tracing.models import AlertRule

pytestmark = pytest.mark.django_db

# Prefixes walked elsewhere: the REST API (tests/api/test_errors.py) and Django's own admin.
SKIPPED = ("api/", "admin/")

# Every query parameter a console view reads, and the search form's fields.
PARAMETERS = [
    "agent",
    "status",
    "after",
    "page",
    "edit",
    "day",
    "range",
    "by",
    "user",
    "stop_reason",
    "cost_min",
    "cost_max",
    "created_from",
    "created_to",
    "group",
]

HOSTILE_VALUES = [
    "\x00",
    "a\x00b",
    "abc",
    "-1",
    "0",
    "99999999999999999999",
    "9" * 5000,
    "1e999",
    "NaN",
    "9999-12-31",
    "0001-01-01",
    "2024-02-30",
    "'; DROP TABLE agents_agent; --",
    "x" * 10_000,
    "%",
]

# The form fields every console form posts (the union; each view reads its own).
FORM_FIELDS = [
    *RULE_FIELDS,
    "days",
    "replacing",
    "risk_tier",
    "input",
    "end_user",
    "submission_key",
    "name",
    "threshold",
    "window_s",
    "min_samples",
    "enabled",
    "session_max_tokens",
    "user_day_usd",
    "retry_budget",
    "context_max_tokens",
    "keep_tool_results",
    "routing",
    "reviewer_group",
    "slack_channel",
    "slack_dm_members",
    "emails",
    "pagerduty_key_env",
    "tiers",
    "events",
    "slack_user_id",
    "username",
    "comment",
    "description",
    "required",
    "fixtures",
    "live_tools",
    "checks",
]

HOSTILE_FORM_VALUES = [
    "\x00",
    "abc",
    "-1",
    str(2**40),
    "2147483647",
    "99999999999999999999",
    "1e999",
    "NaN",
    "x" * 10_000,
    '{"classify": "sim/\\u0000"}',
    '{"classify": "sim/\\ud800"}',
    '{"classify": NaN}',
    "[" * 5000,
]


@pytest.fixture
def world(admin, requester):
    """One row behind every URL argument, so each page gets past its lookups."""
    Group.objects.get_or_create(name="reviewers")
    tool = Tool.objects.create(name="lookup_order", url="https://shop.example/lookup")
    agent = make_agent("support-bot", model="sim/refund", tools=[tool])
    task, _ = task_submit(owner=admin, agent_name="support-bot", input="hi")
    memory = memory_create(agent=agent, text="ships from Leeds", author=MemoryAuthor.admin(admin))
    _raw, token = api_token_create(user=admin, name="walk")
    rule = PolicyRule.objects.create(tool="*", tier="high")
    request = make_request(requester)
    admin.email = "admin@example.com"
    admin.save()
    channels = GroupChannels.objects.create(reviewer_group="reviewers", slack_channel="C0WALK")
    link = SlackUserLink.objects.create(slack_user_id="U0WALK", user=admin, created_at=request.created_at)
    replayed, _ = task_submit(owner=admin, agent_name="support-bot", input="hi again")
    replay = Replay.objects.create(
        original=task,
        task=replayed,
        agent_version=agent.current_version,
        created_by=admin,
        created_at=request.created_at,
    )
    suite = EvalSuite.objects.create(agent=agent, name="walk")
    run = EvalRun.objects.create(suite=suite, agent_version=agent.current_version)
    case = EvalCase.objects.create(suite=suite, name="walk", input="hi")
    AgentVersion.objects.create(agent=agent, number=2, model="sim/echo")
    rollout = rollout_start(actor=admin, agent_name="support-bot", canary_version=2, percent=10)
    return {
        "task_id": task.id,
        "session_id": task.session_id,
        "request_id": request.id,
        "token": email_links_create(request=request, recipient="admin@example.com")["reject"].split("/")[-2],
        "channels_id": channels.pk,
        "link_id": link.pk,
        "span_pk": 1,
        "part": "input",
        "rollout_id": rollout.pk,
        "action": "rollback",
        "token_id": token.pk,
        "agent_name": agent.name,
        "name": agent.name,
        "memory_id": memory.pk,
        "rule_id": rule.pk,
        "replay_id": replay.pk,
        "tool_id": tool.pk,
        "suite_id": suite.pk,
        "run_id": run.pk,
        "case_id": case.pk,
        "kind": AlertRule.objects.values_list("kind", flat=True).first(),
    }


def console_routes(patterns=None, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(SKIPPED):
            continue
        if isinstance(entry, URLResolver):
            yield from console_routes(entry.url_patterns, route)
        else:
            yield route, entry


def console_urls(world: dict, hostile_argument: str | None = None) -> list[str]:
    urls = []
    for route, entry in console_routes():
        names = list(entry.pattern.converters) if hasattr(entry.pattern, "converters") else []
        assert all(name in world for name in names), f"teach the walk a value for {route}: {names}"
        url = "/" + route
        for name in names:
            value = world[name] if hostile_argument is None else hostile_argument
            url = url.replace(f"<{_converter(route, name)}:{name}>", str(value))
        urls.append(url)
    return urls


def _converter(route: str, name: str) -> str:
    start = route.index(f":{name}>")
    return route[route.rindex("<", 0, start) + 1 : start]


def admin_client(admin) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(admin)
    return client


def assert_not_a_server_error(response, what) -> None:
    assert response.status_code < 500, (what, response.status_code, response.content[:300])


def test_the_walk_covers_the_console_pages(world):
    urls = console_urls(world)
    expected = ["/", "/approvals/policy/", "/reports/daily/", "/memories/", f"/tasks/{world['task_id']}/"]
    assert set(expected) <= set(urls)


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=range(len(HOSTILE_VALUES)))
def test_every_console_page_survives_hostile_query_strings(admin, world, value):
    client = admin_client(admin)
    for url in console_urls(world):
        response = client.get(url, {name: value for name in PARAMETERS})
        assert_not_a_server_error(response, (url, value[:20]))


@pytest.mark.parametrize("value", ["%00", "abc", "99999999999999999999", "x" * 300], ids=range(4))
def test_every_console_page_survives_hostile_path_arguments(admin, world, value):
    client = admin_client(admin)
    for url in console_urls(world, hostile_argument=value):
        assert_not_a_server_error(client.get(url), url[:80])
        assert_not_a_server_error(client.post(url), url[:80])


@pytest.mark.parametrize("value", HOSTILE_FORM_VALUES, ids=range(len(HOSTILE_FORM_VALUES)))
def test_every_console_form_survives_hostile_fields(admin, world, value):
    client = admin_client(admin)
    for url in console_urls(world):
        response = client.post(url, {name: value for name in FORM_FIELDS})
        assert_not_a_server_error(response, (url, value[:20]))


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/?agent=%00", 400),
        ("/memories/?agent=%00", 400),
        ("/tasks/{task_id}/?after=%00", 400),
        ("/tasks/{task_id}/trace/rows/?after=%00", 400),
        ("/approvals/policy/?edit=abc", 404),
        ("/approvals/policy/?edit=99999999999999999999", 404),
        ("/reports/daily/?day=9999-12-31", 400),
        ("/reports/daily.csv?day=0001-01-01", 400),
        ("/alerts/rules/%00/", 400),
    ],
)
def test_the_reported_urls_are_client_errors(admin, world, url, status):
    response = admin_client(admin).get(url.format(**world))
    assert response.status_code == status, response.content[:300]


def test_a_nul_parameter_is_named_in_a_json_error(admin, world):
    response = admin_client(admin).get("/", {"agent": "a\x00"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_string",
        "message": "parameters must not contain NUL",
        "field": "agent",
    }

"""Issue 10, finding 3: a slow condition in a dry run froze the whole web process (an unrelated
API request waited 146 s). Served by uvicorn, the same dry run now leaves other requests fast."""

import re
import threading
import time

import httpx
import pytest

from agents.models import Step, Tool
from console.tokens import api_token_create
from core import clock
from tests.approvals.conftest import make_request
from tests.approvals.test_condition_budget import SLOW
from tests.support.processes import running_web

pytestmark = pytest.mark.django_db(transaction=True)

# The finding's bound: an unrelated request must not wait behind a condition for long.
MAX_LATENCY_S = 2.0


def login(client: httpx.Client, username: str, password: str) -> None:
    page = client.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/login/", data={"username": username, "password": password, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302, response.text


def test_a_slow_dry_run_does_not_hold_up_other_requests(tmp_path, requester, admin):
    Tool.objects.create(name="issue_refund", url="http://127.0.0.1:9/", risk_tier="medium")
    task = make_request(requester).task
    big = list(range(3000))  # SLOW takes ~23 s over this in-process
    for index in range(6):
        Step.objects.create(
            task=task,
            index=index,
            model="sim/refund",
            started_at=clock.now(),
            response={"tool_calls": [{"id": f"c{index}", "name": "issue_refund", "arguments": {"i": big}}]},
        )
    raw, _ = api_token_create(user=admin, name="latency")

    with running_web(tmp_path) as url:
        console = httpx.Client(base_url=url, timeout=120)
        login(console, "admin", "admin-pass")
        api = httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {raw}"})
        api.get("/api/v1/policy/rules").raise_for_status()  # warm
        form = {
            "tool": "issue_refund",
            "condition": SLOW,
            "tier": "low",
            "delay_s": 300,
            "approvals_required": 1,
            "reviewer_group": "reviewers",
            "priority": 0,
            "days": 7,
            "csrfmiddlewaretoken": console.cookies["csrftoken"],
        }
        result: dict[str, httpx.Response] = {}
        dry_run = threading.Thread(
            target=lambda: result.update(r=console.post("/approvals/dry-run/", data=form))
        )
        dry_run.start()
        latencies = []
        while dry_run.is_alive():
            started = time.monotonic()
            api.get("/api/v1/policy/rules").raise_for_status()
            latencies.append(time.monotonic() - started)
        dry_run.join()

    page = result["r"].text
    assert result["r"].status_code == 200
    assert "6 calls; 6 would change tier" in page  # medium now; the failing draft makes them high
    assert "stopped: timed out" in page
    assert len(latencies) >= 3
    assert max(latencies) < MAX_LATENCY_S, latencies

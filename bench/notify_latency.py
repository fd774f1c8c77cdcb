"""Notification latency against local fakes: request created → Slack card posted, and a Slack
button click → the approved tool call starting.

Starts a fake Slack Web API and an HTTP tool in this process, and the simulator, one Celery
worker and uvicorn (the interactions endpoint) as processes, on a database of its own:

- card: from a request's `created_at` (stamped in the worker's transaction that creates it) to
  the fake Slack receiving its `chat.postMessage`: on-commit dispatch, the notice row, a Celery
  hop, the claim, rendering and slack-sdk's HTTP call;
- click → exec: from sending a signed `block_actions` POST to uvicorn to the tool receiving the
  call: signature check, user mapping, the decision service, on-commit enqueue of the task's
  run, a worker replaying the stored step, the gate, the tool call.

The last line is one JSON object.
"""

import hashlib
import hmac
import json
import os
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlencode

from harness import Arrivals, http_tool, percentile, serve_http, setup_django, simulator, web, worker

SAMPLES = 40
SIGNING_SECRET = "bench-signing-secret"  # noqa: S105 - the local fake's, not a real one
SLACK_USER = "U0BENCH"


def fake_slack(cards: Arrivals) -> str:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            if self.path.endswith("/chat.postMessage"):
                block_id = body["blocks"][-1]["block_id"]  # "tollgate:<request id>"
                cards.record(block_id.split(":", 1)[1])
            answer = json.dumps(
                {"ok": True, "channel": body.get("channel"), "ts": f"{time.time():.6f}"}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    return serve_http(Handler) + "/api/"


def signed_click(request_id: str) -> tuple[bytes, dict[str, str]]:
    payload = {
        "type": "block_actions",
        "user": {"id": SLACK_USER},
        "channel": {"id": "C0BENCH"},
        "trigger_id": "1.2.3",
        "actions": [{"action_id": "tollgate_approve", "value": f"{request_id}:1"}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    stamp = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
    }
    return body, headers


def main() -> None:
    cards, calls = Arrivals(), Arrivals()
    os.environ.update(
        SLACK_API_URL=fake_slack(cards),
        SLACK_BOT_TOKEN="xoxb-bench",  # noqa: S106 - the local fake accepts any token
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        TOOL_EGRESS_ALLOW="127.0.0.1",
    )
    tool_url = http_tool(calls)
    setup_django("tollgate_bench_notify")
    import httpx
    from django.contrib.auth.models import Group, User

    from agents.models import Agent, AgentVersion, Task, Tool
    from agents.services.tasks import task_submit
    from approvals.models import ActionRequest, PolicyRule
    from core import clock
    from notifications.models import GroupChannels, SlackUserLink

    owner, _ = User.objects.get_or_create(username="bench-owner")
    group, _ = Group.objects.get_or_create(name="reviewers")
    decider, _ = User.objects.get_or_create(username="bench-decider")
    decider.groups.add(group)
    SlackUserLink.objects.get_or_create(
        slack_user_id=SLACK_USER, defaults={"user": decider, "created_at": clock.now()}
    )
    GroupChannels.objects.update_or_create(
        reviewer_group="reviewers", defaults={"slack_channel": "C0BENCH", "events": ["created"], "tiers": []}
    )
    PolicyRule.objects.all().delete()
    ActionRequest.objects.all().delete()
    Tool.objects.update_or_create(
        name="bench_refund",
        defaults={"url": f"{tool_url}/refund", "risk_tier": "high", "parameters": {"type": "object"}},
    )
    agent, _ = Agent.objects.get_or_create(name="bench-notify")
    version = AgentVersion.objects.create(
        agent=agent, number=agent.versions.count() + 1, model="sim/chain?calls=1&tool=bench_refund"
    )
    version.tools.set(Tool.objects.filter(name="bench_refund"))
    agent.current_version = version
    agent.save(update_fields=["current_version"])

    card_ms: list[float] = []
    click_ms: list[float] = []
    with simulator(), worker(), web() as port, httpx.Client(timeout=10) as client:
        url = f"http://127.0.0.1:{port}/notifications/slack/interactions/"
        for index in range(SAMPLES):
            task, _ = task_submit(owner=owner, agent_name="bench-notify", input=f"refund {index}")
            deadline = time.monotonic() + 30
            while (request := ActionRequest.objects.filter(task=task).first()) is None:
                if time.monotonic() > deadline:
                    raise RuntimeError("no action request was created")
                time.sleep(0.005)
            wall, _ = cards.wait_for(str(request.id))
            card_ms.append((wall - request.created_at.timestamp()) * 1000)
            while Task.objects.values_list("status", flat=True).get(pk=task.pk) != "waiting_approval":
                time.sleep(0.005)
            body, headers = signed_click(str(request.id))
            started = time.perf_counter()
            client.post(url, content=body, headers=headers).raise_for_status()
            _, arrived = calls.wait_for(request.idempotency_key)
            click_ms.append((arrived - started) * 1000)

    result = {
        "card_p50_ms": round(percentile(card_ms, 50), 2),
        "card_p95_ms": round(percentile(card_ms, 95), 2),
        "click_to_exec_p50_ms": round(percentile(click_ms, 50), 2),
        "click_to_exec_p95_ms": round(percentile(click_ms, 95), 2),
        "samples": len(card_ms),
    }
    print(
        f"request created → Slack card: p50 {result['card_p50_ms']} ms, "
        f"p95 {result['card_p95_ms']} ms (target ≤ 200)"
    )
    print(
        f"Slack click → tool call: p50 {result['click_to_exec_p50_ms']} ms, "
        f"p95 {result['click_to_exec_p95_ms']} ms (target ≤ 150)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()

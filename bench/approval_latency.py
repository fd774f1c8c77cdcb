"""Approval latency: live push to 100 reviewer sockets, decision to execution, auto-send lateness.

Starts uvicorn (the ASGI app: pages and the queue's WebSocket), a Celery worker, Celery beat
and the simulator, on a database of its own, and connects 100 reviewer WebSockets:

- push: from the commit of a request's transaction to its arrival at each of the 100 sockets;
- decision → execution: from a reviewer's decision (the call that commits it) to the moment
  the approved HTTP tool receives the call, through the real resume path (on-commit enqueue,
  a worker claims the task, replays the stored step, runs the tool);
- auto-send lateness: a medium request's tool call start minus its stored deadline.

The last line is one JSON object.
"""

import asyncio
import json
import os
import sys
import tempfile
import threading
import time

from harness import Arrivals, http_tool, percentile, process, setup_django, simulator, web, worker

REVIEWERS = 100
PUSHES = 60
DECISIONS = 40
AUTOSENDS = 40
AUTOSEND_DELAY_S = 2
# Deadlines this far apart measure the clock, not a backlog: 4 worker processes on 2 cores
# finish a resumed task in about 0.3-0.5 s (tool call plus the final model step).
AUTOSEND_SPACING_S = 0.25


class Sockets:
    """REVIEWERS WebSockets in an asyncio loop of their own; records each message's arrival."""

    def __init__(self, url: str, cookies: list[str]) -> None:
        self.url, self.cookies = url, cookies
        self.arrivals: dict[str, list[float]] = {}
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._connect_all(), self.loop).result(timeout=60)

    async def _connect_all(self) -> None:
        import websockets

        self.connections: list = []
        self.listeners: list[asyncio.Future] = []
        for cookie in self.cookies:
            connection = await websockets.connect(
                self.url, additional_headers={"Cookie": cookie}, origin="http://127.0.0.1"
            )
            self.connections.append(connection)
            self.listeners.append(asyncio.ensure_future(self._listen(connection)))

    async def _listen(self, connection) -> None:
        import websockets

        try:
            async for raw in connection:
                now = time.perf_counter()
                message = json.loads(raw)
                if message.get("event") == "created":
                    with self.lock:
                        self.arrivals.setdefault(message["request"]["id"], []).append(now)
        except websockets.ConnectionClosed:
            pass  # uvicorn shutting down at the end of the run

    def wait_all(self, request_id: str, timeout: float = 10) -> list[float]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                got = self.arrivals.get(request_id, [])
                if len(got) >= REVIEWERS:
                    return list(got)
            time.sleep(0.002)
        raise RuntimeError(f"only {len(self.arrivals.get(request_id, []))} sockets heard {request_id}")


def main() -> None:
    # The HTTP tool below listens on loopback, which the egress guard refuses unless allowed
    # (read at settings load, here and in the worker this process starts).
    os.environ["TOOL_EGRESS_ALLOW"] = "127.0.0.1"
    setup_django("tollgate_bench_approvals")
    os.environ["APPROVALS_SWEEP_S"] = "0.5"
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction

    from agents.models import Agent, AgentVersion, Task, Tool
    from agents.services.tasks import task_submit
    from approvals.live import action_request_publish
    from approvals.models import ActionRequest, PolicyRule
    from approvals.services import action_request_decide
    from core import clock

    tool_calls = Arrivals()
    tool_url = http_tool(tool_calls)
    owner, _ = User.objects.get_or_create(username="bench-owner")
    group, _ = Group.objects.get_or_create(name="reviewers")
    decider, _ = User.objects.get_or_create(username="bench-decider")
    decider.groups.add(group)
    PolicyRule.objects.all().delete()
    ActionRequest.objects.all().delete()
    for name, tier in (("bench_refund", "high"), ("bench_email", "medium")):
        Tool.objects.update_or_create(
            name=name,
            defaults={"url": f"{tool_url}/{name}", "risk_tier": tier, "parameters": {"type": "object"}},
        )
    PolicyRule.objects.create(tool="bench_email", tier="medium", delay_s=AUTOSEND_DELAY_S)
    for name, tool in (("bench-approve", "bench_refund"), ("bench-autosend", "bench_email")):
        agent, _ = Agent.objects.get_or_create(name=name)
        version = AgentVersion.objects.create(
            agent=agent, number=agent.versions.count() + 1, model=f"sim/chain?calls=1&tool={tool}"
        )
        version.tools.set(Tool.objects.filter(name=tool))
        agent.current_version = version
        agent.save(update_fields=["current_version"])

    cookies = []
    for index in range(REVIEWERS):
        user, _ = User.objects.get_or_create(username=f"bench-reviewer-{index}")
        user.groups.add(group)
        session = SessionStore()
        session["_auth_user_id"] = str(user.pk)
        session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        session["_auth_user_hash"] = user.get_session_auth_hash()
        session.create()
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={session.session_key}")

    celery = os.path.join(os.path.dirname(sys.executable), "celery")
    schedule = os.path.join(tempfile.mkdtemp(prefix="tollgate-bench-beat-"), "schedule")
    beat_args = [celery, "-A", "console", "beat", "--loglevel=INFO", "-s", schedule]
    with (
        simulator(),
        worker(),
        web() as port,
        process(beat_args, ready="beat: Starting", env={"LOG_LEVEL": "INFO"}),
    ):
        sockets = Sockets(f"ws://127.0.0.1:{port}/ws/approvals/", cookies)
        print(f"{REVIEWERS} reviewer sockets connected", flush=True)

        # 1. Push: commit → arrival at every socket. The timestamp is taken by the first
        # on-commit callback, which runs right after COMMIT and before the push's own.
        pushes: list[float] = []
        task, _ = task_submit(owner=owner, agent_name="bench-approve", input="push")
        Task.objects.filter(pk=task.pk).update(status=Task.Status.CANCELLED)
        for index in range(PUSHES):
            committed: list[float] = []
            with transaction.atomic():
                request = ActionRequest.objects.create(
                    task=task,
                    step_index=index,
                    call_index=0,
                    call_id=f"c{index}",
                    tool_name="bench_refund",
                    agent_name="bench-approve",
                    arguments={"i": index},
                    original_arguments={"i": index},
                    tier="high",
                    policy_version=0,
                    request_hash="0" * 64,
                    reviewer_group="reviewers",
                    created_at=clock.now(),
                )
                transaction.on_commit(lambda stamps=committed: stamps.append(time.perf_counter()))
                action_request_publish(request_id=request.id, event="created")
            arrivals = sockets.wait_all(str(request.id))
            pushes += [(arrival - committed[0]) * 1000 for arrival in arrivals]
            time.sleep(0.02)

        # 2. Decision → tool-call start through the real resume path.
        decisions: list[float] = []
        for _ in range(DECISIONS):
            task, _ = task_submit(owner=owner, agent_name="bench-approve", input="refund")
            deadline = time.monotonic() + 30
            while not ActionRequest.objects.filter(task=task).exists():
                if time.monotonic() > deadline:
                    raise RuntimeError("no action request was created")
                time.sleep(0.005)
            request = ActionRequest.objects.get(task=task)
            while Task.objects.values_list("status", flat=True).get(pk=task.pk) != "waiting_approval":
                time.sleep(0.005)
            started = time.perf_counter()
            action_request_decide(action_request=request, actor=decider, decision="approve")
            _, arrived = tool_calls.wait_for(request.idempotency_key)
            decisions.append((arrived - started) * 1000)

        # 3. Auto-send lateness: tool call start minus the deadline stored in PostgreSQL.
        autosend_tasks = []
        for _ in range(AUTOSENDS):
            autosend_tasks.append(task_submit(owner=owner, agent_name="bench-autosend", input="email")[0])
            time.sleep(AUTOSEND_SPACING_S)
        late: list[float] = []
        for task in autosend_tasks:
            deadline = time.monotonic() + 60
            while not ActionRequest.objects.filter(task=task).exists():
                if time.monotonic() > deadline:
                    raise RuntimeError("no medium request was created")
                time.sleep(0.01)
            request = ActionRequest.objects.get(task=task)
            wall, _ = tool_calls.wait_for(request.idempotency_key, timeout=60)
            late.append((wall - request.autosend_at.timestamp()) * 1000)

    result = {
        "push_p50_ms": round(percentile(pushes, 50), 2),
        "push_p95_ms": round(percentile(pushes, 95), 2),
        "decide_to_exec_p50_ms": round(percentile(decisions, 50), 2),
        "decide_to_exec_p95_ms": round(percentile(decisions, 95), 2),
        "autosend_late_p50_ms": round(percentile(late, 50), 2),
        "autosend_late_p99_ms": round(percentile(late, 99), 2),
        "reviewer_sockets": REVIEWERS,
        "pushes": len(pushes),
        "decisions": len(decisions),
        "autosends": len(late),
    }
    print(
        f"push to {REVIEWERS} sockets: p50 {result['push_p50_ms']} ms, "
        f"p95 {result['push_p95_ms']} ms (target ≤ 50)"
    )
    print(
        f"decision → tool call: p50 {result['decide_to_exec_p50_ms']} ms, "
        f"p95 {result['decide_to_exec_p95_ms']} ms (target ≤ 100)"
    )
    print(
        f"auto-send lateness: p50 {result['autosend_late_p50_ms']} ms, "
        f"p99 {result['autosend_late_p99_ms']} ms (target ≤ 1000)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""The REST API's lists and reads on a large database.

A database of its own (`tollgate_bench_api`) is filled once with 100,000 tasks over 2,000
sessions spread across 30 days, 10,000 action requests (6,000 of them pending) and one task with
50 steps; later runs reuse it. Each request goes through the whole Django stack (token auth,
the route, the selector, serialization) with an admin's token, as a client would see it minus
the network:

- the first page of GET /api/v1/tasks (50 newest), and its tenth page (reached by `next`);
- the first page of GET /api/v1/approvals?status=pending;
- GET /api/v1/tasks/{id} of a task with 50 steps.

The last line is JSON with `tasks_page_p95_ms`, `tasks_page10_p95_ms`, `approvals_page_p95_ms`
and `task_read_p95_ms`.
"""

import json
import statistics
import time
from datetime import timedelta
from decimal import Decimal

from harness import percentile, setup_django

TASKS = 100_000
SESSIONS = 2_000
REQUESTS = 10_000
PENDING = 6_000
STEPS = 50
RUNS = 60
WARMUP = 5
SPREAD_DAYS = 30


def seed() -> str:
    """Fill the database unless a previous run did; returns the id of the task with 50 steps."""
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from agents.models import Agent, AgentVersion, Session, Step, Task
    from approvals.models import ActionRequest
    from core import clock

    owner, _ = User.objects.get_or_create(username="bench-api-owner")
    stepped = Task.objects.filter(owner=owner, input="fifty steps").values_list("id", flat=True).first()
    if stepped is not None and Task.objects.count() >= TASKS:
        return str(stepped)
    began = time.perf_counter()
    now = clock.now()
    with transaction.atomic():
        agent = Agent.objects.create(name=f"bench-api-{int(now.timestamp())}")
        version = AgentVersion.objects.create(agent=agent, number=1, model="sim/echo")
        agent.current_version = version
        agent.save(update_fields=["current_version"])
        sessions = Session.objects.bulk_create(
            Session(agent=agent, agent_version=version, owner=owner, end_user=f"user-{n % 300}")
            for n in range(SESSIONS)
        )
        statuses = ["succeeded"] * 8 + ["failed", "waiting_approval"]
        tasks = Task.objects.bulk_create(
            (
                Task(
                    session=sessions[n % SESSIONS],
                    owner=owner,
                    input=f"Where is order A-{n}?",
                    status=statuses[n % len(statuses)],
                    result="It shipped yesterday." if n % 10 < 8 else "",
                    input_tokens=400,
                    output_tokens=60,
                    cost_usd=Decimal("0.000096"),
                )
                for n in range(TASKS)
            ),
            batch_size=5_000,
        )
        # auto_now_add stamped them all alike; spread them over the last month, as real ones are.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE agents_task SET created_at = %s - random() * interval '%s days'",
                [now, SPREAD_DAYS],
            )
        created = dict(Task.objects.values_list("id", "created_at"))
        ActionRequest.objects.bulk_create(
            (
                ActionRequest(
                    task_id=tasks[n * (TASKS // REQUESTS)].id,
                    step_index=1,
                    call_index=0,
                    call_id="call_1",
                    tool_name="issue_refund",
                    agent_name=agent.name,
                    arguments={"order_id": f"A-{n}", "amount": 49.99},
                    original_arguments={"order_id": f"A-{n}", "amount": 49.99},
                    reasoning="The order arrived damaged; refunding it.",
                    tier="high",
                    policy_version=1,
                    request_hash="0" * 64,
                    status="pending" if n < PENDING else "executed",
                    reviewer_group="reviewers",
                    created_at=created[tasks[n * (TASKS // REQUESTS)].id] + timedelta(seconds=2),
                )
                for n in range(REQUESTS)
            ),
            batch_size=5_000,
        )
        task = Task.objects.create(session=sessions[0], owner=owner, input="fifty steps", status="succeeded")
        Step.objects.bulk_create(
            Step(
                task=task,
                index=index,
                status="completed",
                model="sim/echo",
                response={
                    "content": f"Step {index}: looking it up.",
                    "tool_calls": [
                        {"id": f"call_{index}", "name": "lookup_order", "arguments": {"order_id": "A-1"}}
                    ],
                },
                tool_results=[{"status": "success", "data": {"order_id": "A-1", "amount": 49.99}}],
                input_tokens=400,
                output_tokens=60,
                started_at=now,
                finished_at=now,
            )
            for index in range(STEPS)
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE agents_task, agents_session, approvals_actionrequest, agents_step")
    print(f"seeded {TASKS:,} tasks, {REQUESTS:,} action requests in {time.perf_counter() - began:.0f} s")
    return str(task.id)


def main() -> None:
    setup_django("tollgate_bench_api")
    from django.contrib.auth.models import User
    from django.test import Client

    from console.tokens import api_token_create

    task_id = seed()
    admin, _ = User.objects.get_or_create(username="bench-api-admin", defaults={"is_staff": True})
    raw, _token = api_token_create(user=admin, name="bench")
    client = Client(SERVER_NAME="localhost", headers={"Authorization": f"Bearer {raw}"})

    def timed(url: str, params: dict[str, str] | None = None) -> list[float]:
        timings = []
        for _ in range(RUNS + WARMUP):
            began = time.perf_counter()
            response = client.get(url, params or {})
            timings.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.content[:300]
        return timings[WARMUP:]

    page = client.get("/api/v1/tasks").json()
    for _ in range(9):
        page = client.get(page["next"]).json()
    tenth_url = page["next"]  # the URL of page 10 is the `next` of page 9
    assert len(client.get("/api/v1/approvals", {"status": "pending"}).json()["items"]) == 50
    assert len(client.get(f"/api/v1/tasks/{task_id}").json()["steps"]) == STEPS

    results = {
        "tasks_page_p95_ms": timed("/api/v1/tasks"),
        "tasks_page10_p95_ms": timed(tenth_url),
        "approvals_page_p95_ms": timed("/api/v1/approvals", {"status": "pending"}),
        "task_read_p95_ms": timed(f"/api/v1/tasks/{task_id}"),
    }
    labels = {
        "tasks_page_p95_ms": "GET /tasks, first page of 50",
        "tasks_page10_p95_ms": "GET /tasks, tenth page (by `next`)",
        "approvals_page_p95_ms": "GET /approvals?status=pending, first page of 50",
        "task_read_p95_ms": f"GET /tasks/{{id}}, {STEPS} steps",
    }
    for key, timings in results.items():
        print(f"{labels[key]}: p50 {statistics.median(timings):.1f} ms, p95 {percentile(timings, 95):.1f} ms")
    print(json.dumps({key: round(percentile(timings, 95), 1) for key, timings in results.items()}))


if __name__ == "__main__":
    main()

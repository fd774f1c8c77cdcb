"""CPU per gate API allow answer, measured in one process: robust to other load on the machine.

Django's test client sends `POST /api/v1/actions` (a low-tier call a CEL rule decides, the
policy of bench/gate_latency.py) through the whole stack of a request: middleware, token
auth, Ninja and pydantic, the policy, the writes, the JSON answer. For each answer it counts
this process's CPU (time.process_time), the CPU of the PostgreSQL backend that served it (its
/proc entry, when PostgreSQL runs on this machine) and the SQL statements sent. CPU time is
what a core spent on the answer, so waiting for a core under load does not inflate it much
(caches do suffer a little). With --profile, a cProfile of the measured answers goes to stderr.

The last line is one JSON object.
"""

import cProfile
import json
import os
import pstats
import sys
import time
import uuid
from pathlib import Path

from harness import percentile, setup_django

ANSWERS = 400
WARMUP = 50
RUN = uuid.uuid4().hex[:8]


def backend_cpu_s(pid: int) -> float | None:
    """User + system CPU of a PostgreSQL backend, if it runs on this machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    setup_django("bench_gate_cpu")
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from agents.models import Tool
    from approvals.models import PolicyRule
    from console.tokens import api_token_create

    owner, _ = User.objects.get_or_create(username="bench-gate-cpu")
    token, _ = api_token_create(user=owner, name="bench")
    external = {"kind": Tool.Kind.EXTERNAL, "risk_tier": "high"}
    Tool.objects.get_or_create(name="bench_lookup", defaults=external)
    PolicyRule.objects.all().delete()
    PolicyRule.objects.create(tool="bench_refund", condition="args.amount > 100", tier="high", priority=30)
    PolicyRule.objects.create(tool="bench_refund", tier="medium", priority=20)
    PolicyRule.objects.create(tool="bench_*", condition="args.q == 'delete'", tier="critical", priority=15)
    PolicyRule.objects.create(tool="bench_lookup", condition="args.n < 1000000", tier="low", priority=10)

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="localhost")
    connection.ensure_connection()
    backend_pid = connection.cursor().connection.info.backend_pid

    def ask(n: int) -> None:
        body = {
            "agent": "bench-outside",
            "session": f"cpu-{n % 10}",
            "tool": "bench_lookup",
            "arguments": {"n": n, "q": "status"},
            "idempotency_key": f"{RUN}-{n}",
        }
        response = client.post("/api/v1/actions", body, content_type="application/json")
        if response.status_code != 201 or response.json()["decision"] != "allow":
            raise RuntimeError(f"unexpected answer: {response.status_code} {response.content[:300]!r}")

    for n in range(WARMUP):
        ask(n)
    with CaptureQueriesContext(connection) as queries:
        ask(WARMUP)
    statements = [query["sql"] for query in queries.captured_queries]

    # CPU time, not wall time: waiting for PostgreSQL or for a core is not the answer's cost.
    profile = cProfile.Profile(time.process_time) if "--profile" in sys.argv else None
    cpu_ms: list[float] = []
    wall_ms: list[float] = []
    backend_start = backend_cpu_s(backend_pid)
    for n in range(WARMUP + 1, WARMUP + 1 + ANSWERS):
        wall, cpu = time.perf_counter(), time.process_time()
        if profile is not None:
            profile.enable()
        ask(n)
        if profile is not None:
            profile.disable()
        cpu_ms.append((time.process_time() - cpu) * 1000)
        wall_ms.append((time.perf_counter() - wall) * 1000)
    backend_end = backend_cpu_s(backend_pid)
    if profile is not None:
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(60)
        pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(40)

    backend_ms = (
        (backend_end - backend_start) * 1000 / ANSWERS
        if backend_start is not None and backend_end is not None
        else None
    )
    result = {
        "allow_cpu_ms_mean": round(sum(cpu_ms) / len(cpu_ms), 3),
        "allow_cpu_ms_p50": round(percentile(cpu_ms, 50), 3),
        "allow_cpu_ms_p95": round(percentile(cpu_ms, 95), 3),
        "postgres_cpu_ms_mean": round(backend_ms, 3) if backend_ms is not None else None,
        "allow_wall_ms_p50": round(percentile(wall_ms, 50), 3),
        "sql_statements": len(statements),
        "answers": ANSWERS,
    }
    for sql in statements:
        print(f"  SQL: {sql[:160]}")
    print(
        f"allow answer: {result['allow_cpu_ms_mean']} ms CPU in Django (p50 {result['allow_cpu_ms_p50']}), "
        f"{result['postgres_cpu_ms_mean']} ms in PostgreSQL, {len(statements)} SQL statements"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""CPU per gate API allow answer, measured in one process: robust to other load on the machine.

Django's test client sends `POST /api/v1/actions` (a low-tier call a CEL rule decides, the
policy of bench/gate_latency.py) through the whole stack of a request: middleware, token
auth, Ninja and pydantic, the policy, the writes, the JSON answer. For each answer it counts
this process's CPU (time.process_time), the CPU of the PostgreSQL backend that served it (its
/proc entry, when PostgreSQL runs on this machine) and the SQL statements sent. CPU time is
what a core spent on the answer, so waiting for a core under load does not inflate it much
(caches do suffer a little). With --profile, a cProfile (of CPU time) of the measured answers
goes to stderr.

The test client skips what an ASGI server adds (uvicorn, Django's ASGI handler and its thread
hops), so the same answers are then asked of one uvicorn process, one at a time, over a
keep-alive connection: that process's CPU per answer as served (the gate fast path,
console/gate_fast_path.py), per answer through Django's ASGI route (a query string sends the
ask there), and per answer of an unknown API path (the server and middleware alone, no view).

The last line is one JSON object.
"""

import asyncio
import cProfile
import json
import os
import pstats
import sys
import time
import uuid
from pathlib import Path

from harness import free_port, percentile, process, setup_django

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


async def asgi_cpu_ms(port: int, server_pid: int, token: str, path: str) -> float:
    """The server process's CPU per answer, asked one at a time."""
    import psutil
    from gate_latency import Caller

    caller = Caller(port, token)

    async def one(n: int) -> None:
        if path.startswith("/api/v1/actions"):
            await caller.ask(_body(f"asgi-{path[-6:]}-{n}"), path=path)
            return
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()
        status, _ = await caller._exchange(request)
        if status != 404:
            raise RuntimeError(f"unexpected answer: {status}")

    for n in range(WARMUP):
        await one(n)
    server = psutil.Process(server_pid)
    before = server.cpu_times()
    for n in range(WARMUP, WARMUP + ANSWERS):
        await one(n)
    after = server.cpu_times()
    caller.close()
    return (after.user + after.system - before.user - before.system) * 1000 / ANSWERS


def _body(key: str) -> dict:
    return {
        "agent": "bench-outside",
        "session": f"cpu-{key[-1]}",  # ten sessions, each asked again and again
        "tool": "bench_lookup",
        "arguments": {"n": 1, "q": "status"},
        "idempotency_key": f"{RUN}-{key}",
    }


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
        response = client.post("/api/v1/actions", _body(str(n)), content_type="application/json")
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

    port = free_port()
    web = [sys.executable, "-m", "uvicorn", "console.asgi:application", "--port", str(port)]
    web += ["--lifespan", "off"]
    with process(web, ready="Uvicorn running", timeout=120) as server:
        asgi_allow_ms = asyncio.run(asgi_cpu_ms(port, server.pid, token, "/api/v1/actions"))
        # A query string sends the same ask past the fast path to Django's route (Ninja ignores it).
        django_route_ms = asyncio.run(asgi_cpu_ms(port, server.pid, token, "/api/v1/actions?route=django"))
        asgi_unknown_ms = asyncio.run(asgi_cpu_ms(port, server.pid, token, "/api/v1/no-such-endpoint"))

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
        "asgi_allow_cpu_ms": round(asgi_allow_ms, 3),
        "asgi_allow_django_route_cpu_ms": round(django_route_ms, 3),
        "asgi_unknown_path_cpu_ms": round(asgi_unknown_ms, 3),
        "sql_statements": len(statements),
        "answers": ANSWERS,
    }
    for sql in statements:
        print(f"  SQL: {sql[:160]}")
    print(
        f"allow answer: {result['allow_cpu_ms_mean']} ms CPU in Django (p50 {result['allow_cpu_ms_p50']}), "
        f"{result['postgres_cpu_ms_mean']} ms in PostgreSQL, {len(statements)} SQL statements"
    )
    print(
        f"under uvicorn, one process: {result['asgi_allow_cpu_ms']} ms CPU an allow answer "
        f"(the fast path; {result['asgi_allow_django_route_cpu_ms']} ms through Django's ASGI route), "
        f"{result['asgi_unknown_path_cpu_ms']} ms an unknown API path"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()

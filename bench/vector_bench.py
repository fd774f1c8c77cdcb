"""pgvector at work: the loop check per step, memory recall over 100,000 memories, and how
well loop detection separates looping from healthy runs.

- loop check: both loop guards (exact, then semantic: embed the previous output, store it,
  read the session's latest outputs back) run as the pipeline runs them, once per step of a
  200-step session, against the benchmark's own PostgreSQL database.
- recall: top-5 memories for 300 queries, scoped to one agent that holds all 100,000 of them
  (the filter selects everything, so the HNSW index does all the ranking work). The memories
  are written once with COPY and precomputed vectors; later runs reuse them.
- loop recall and false-kill rate: the held-out half of the labelled set of bench/loop_cases.py
  (the threshold is chosen on the other half, bench/loop_threshold.py), at the defaults.

Ends with one JSON line: loop_check_p95_ms, recall_p95_ms, loop_recall, false_kill_rate.
"""

import json
import os
import random
import sys
import time

from harness import percentile, setup_django

# BENCH_MEMORIES=5000 runs it small (a quick check that it works: the recall figure is then not
# the one the issue asks for); a count other than the stored one's refills the memories.
MEMORIES = int(os.environ.get("BENCH_MEMORIES", "100000"))
STEPS = 200
QUERIES = 300
AGENT = "bench-memory"


def main() -> None:
    setup_django("tollgate_bench_vectors")
    from django.conf import settings

    from agents.embeddings.registry import embedder

    model = embedder()
    threshold = settings.LOOP_SIMILARITY_THRESHOLD
    window = settings.LOOP_WINDOW
    limit = settings.REPEATED_TOOL_CALL_LIMIT
    print(f"embedder {model.name}; defaults: threshold {threshold}, K {window}, N {limit}")

    loop_ms = loop_check_timings(model)
    print(
        f"loop check per step ({STEPS} steps): p50 {percentile(loop_ms, 50):.2f} ms, "
        f"p95 {percentile(loop_ms, 95):.2f} ms, max {max(loop_ms):.2f} ms"
    )

    recall_ms, plan = recall_timings(model)
    print(
        f"memory recall top-5 of {MEMORIES:,}: p50 {percentile(recall_ms, 50):.2f} ms, "
        f"p95 {percentile(recall_ms, 95):.2f} ms"
    )
    print(f"plan: {plan}")

    loop_recall, false_kill_rate = labelled_set(model, threshold=threshold, window=window, limit=limit)

    print(
        json.dumps(
            {
                "loop_check_p95_ms": round(percentile(loop_ms, 95), 3),
                "recall_p95_ms": round(percentile(recall_ms, 95), 3),
                "loop_recall": round(loop_recall, 4),
                "false_kill_rate": round(false_kill_rate, 4),
            }
        )
    )


def loop_check_timings(model) -> list[float]:
    """Both loop guards, timed per step, over a healthy paginating session that never halts."""
    from django.contrib.auth.models import User

    from agents.guards.decision import Verdict
    from agents.guards.loops import loop_guard, repeated_tool_call_guard
    from agents.models import Agent, AgentVersion, OutputEmbedding
    from agents.runtime.loop import _load
    from agents.services.tasks import task_submit

    owner, _ = User.objects.get_or_create(username="bench-vectors")
    agent, created = Agent.objects.get_or_create(name="bench-loops")
    if created:
        version = AgentVersion.objects.create(agent=agent, number=1, model="sim/echo", max_iterations=10_000)
        agent.current_version = version
        agent.save(update_fields=["current_version"])
    task, _ = task_submit(owner=owner, agent_name="bench-loops", input="page through everything")
    state = _load(task.id)
    state.task.messages = [{"role": "user", "content": task.input}]
    timings = []
    for step in range(1, STEPS + 1):
        call_id = f"call_{step}"
        state.task.messages += [
            {
                "role": "assistant",
                "content": f"Fetching page {step} of the orders.",
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": "list_orders", "arguments": json.dumps({"page": step})},
                    }
                ],
            },
            {
                "role": "tool",
                "tool_call_id": call_id,
                "content": json.dumps(
                    {"status": "success", "data": {"page": step, "ids": [step * 10 + k for k in range(10)]}}
                ),
            },
        ]
        state.task.step_index = step
        started = time.perf_counter()
        decisions = [repeated_tool_call_guard(state), loop_guard(state)]
        timings.append((time.perf_counter() - started) * 1000)
        assert all(d.verdict is Verdict.ALLOW for d in decisions), decisions
    assert OutputEmbedding.objects.filter(task=task).count() == STEPS
    return timings[5:]  # the first calls load the model and warm the connection


def recall_timings(model) -> tuple[list[float], str]:
    from django.db import connection, transaction

    from agents.memory.selectors import memory_recall
    from agents.models import Agent, Memory

    agent, _ = Agent.objects.get_or_create(name=AGENT)
    have = Memory.objects.filter(agent=agent, model=model.name).count()
    if have != MEMORIES:
        Memory.objects.filter(agent=agent).delete()
        memories_fill(agent.pk, model)
    texts = list(facts(2_000, seed=7))
    random.Random(3).shuffle(texts)
    timings = []
    for text in texts[: QUERIES + 10]:
        started = time.perf_counter()
        found = memory_recall(agent_id=agent.pk, session=None, query=text, k=5)
        timings.append((time.perf_counter() - started) * 1000)
        assert len(found) == 5
    dims = model.dimensions
    vector = "[" + ",".join(str(float(x)) for x in model.embed(["Dana prefers store credit"])[0]) + "]"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.iterative_scan = strict_order")
        # The same query as memory_recall; dims is an int, every value a parameter.
        cursor.execute(
            f"EXPLAIN SELECT id FROM agents_memory WHERE dimensions = {dims} AND model = %s "  # noqa: S608
            f"AND agent_id = %s AND (session_id = %s OR (session_id IS NULL AND "
            f"(provenance = %s OR (written_by_id = %s AND end_user = %s)))) "
            f"ORDER BY embedding::vector({dims}) <=> %s::vector({dims}) LIMIT 5",
            [model.name, agent.pk, None, "admin", None, "", vector],
        )
        plan = " / ".join(row[0].strip()[:90] for row in cursor.fetchall()[:2])
    return timings[10:], plan


def memories_fill(agent_id: int, model) -> None:
    """COPY the memories with vectors embedded in batches beforehand."""
    from django.db import connection

    from core import clock

    started = time.perf_counter()
    texts = list(facts(MEMORIES, seed=1))
    now = clock.now()
    with connection.cursor() as cursor:
        # Written as an admin's, so that recall without a session (below) may find them.
        copy_sql = (
            "COPY agents_memory (agent_id, text, provenance, model, dimensions, embedding, created_at) "
            "FROM STDIN"
        )
        with cursor.connection.cursor().copy(copy_sql) as copy:
            for start in range(0, len(texts), 5_000):
                batch = texts[start : start + 5_000]
                for text, vector in zip(batch, model.embed(batch), strict=True):
                    literal = "[" + ",".join(f"{x:.6f}" for x in vector) + "]"
                    copy.write_row((agent_id, text, "admin", model.name, model.dimensions, literal, now))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE agents_memory")
    print(f"wrote {len(texts):,} memories in {time.perf_counter() - started:.1f} s (reused by later runs)")


def facts(count: int, *, seed: int):
    rng = random.Random(seed)
    names = [
        "Ann",
        "Bob",
        "Chen",
        "Dana",
        "Eli",
        "Femi",
        "Gus",
        "Hana",
        "Ivo",
        "Jun",
        "Kai",
        "Lea",
        "Mo",
        "Nia",
    ]
    things = [
        "store credit",
        "email updates",
        "phone calls",
        "express shipping",
        "paper invoices",
        "the Leeds warehouse",
        "weekend delivery",
        "a monthly plan",
        "refunds to the card",
        "SMS alerts",
    ]
    verbs = ["prefers", "asked for", "never wants", "complained about", "switched to", "cancelled"]
    for n in range(count):
        yield (
            f"Customer {rng.choice(names)} {n} {rng.choice(verbs)} {rng.choice(things)} "
            f"in {rng.choice(['January', 'March', 'May', 'July', 'October'])}; "
            f"ticket T-{rng.randint(100, 99999)}."
        )


def labelled_set(model, *, threshold: float, window: int, limit: int) -> tuple[float, float]:
    """Recall and false kills on the held-out half of the labelled set (bench/loop_cases.py),
    the half the threshold was not chosen on (bench/loop_threshold.py)."""
    from loop_threshold import measure

    recall, false_kills = measure(model, "held_out", threshold=threshold, window=window, limit=limit)
    print(f"labelled set, held-out half: loop recall {recall:.3f}, false kills {false_kills:.3f}")
    return recall, false_kills


if __name__ == "__main__":
    sys.exit(main())

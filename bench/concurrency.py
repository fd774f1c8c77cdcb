"""Many live sessions on one worker, each model call answering after a real model's latency.

One Celery worker in the configuration `make run` uses (`manage.py worker`: WORKER_PROCESSES
processes sharing WORKER_CONCURRENCY threads, each with its bounded PostgreSQL pool), the
simulator answering every turn after MODEL_LATENCY_MS, and SESSIONS sessions submitted at once,
each of 5 steps: 4 calls of the `echo` tool, then an answer. Loop detection runs before every
model call, as always (each output is embedded and compared in pgvector).

- ideal_steps_per_s: sessions x steps ÷ the time a perfectly parallel run needs (steps x
  latency: every session's steps run one after another, all sessions at once);
- efficiency: steps_per_s ÷ ideal_steps_per_s;
- overhead_p95_ms: a step's time beyond its model call, under that load (from the previous
  step's checkpoint, or the sending of all runs, to this step's checkpoint, minus the model
  latency);
- worker_pss_mb: the worker's peak memory (PSS summed over its processes: the parent and the
  processes it forked, which share what it loaded);
- pg_connections_max: the most connections to the database at once, from every process.

The shared rate limits are lifted for the run (GUARD_PROVIDER_RPM, GUARD_TOOL_RPM): their
defaults (3,000 model calls and 600 calls of one tool a minute) are guardrails an operator sets
for a real provider or tool, and at 100 steps a second they, not the runtime, would be measured.

- worker_cpu_ms_per_step: the worker process's CPU time (user + system) over the run ÷ steps,
  the figure a busy shared machine changes least; pg_cpu_ms_per_step: the same for the
  embedded PostgreSQL's processes (absent with an outside DATABASE_URL).

The last line is JSON for SESSIONS; a line before it gives the same figures for
SESSIONS_LARGE (no target: it shows where one worker's concurrency becomes the limit;
BENCH_SESSIONS_LARGE=0 skips it).
"""

import json
import os
import time

from harness import (
    ConnectionSampler,
    RssSampler,
    echo_chain_agent,
    percentile,
    postgres_cpu_s,
    process_tree_cpu_s,
    setup_django,
    simulator,
    worker,
)

MODEL_LATENCY_MS = int(os.environ.get("BENCH_MODEL_LATENCY_MS", "2000"))
SESSIONS = int(os.environ.get("BENCH_SESSIONS", "200"))
SESSIONS_LARGE = int(os.environ.get("BENCH_SESSIONS_LARGE", "1000"))
STEPS = 5  # 4 tool calls, then the answer


def main() -> None:
    # Inherited by the worker (see the module's docstring).
    os.environ["GUARD_PROVIDER_RPM"] = os.environ["GUARD_TOOL_RPM"] = "1000000"
    database = "tollgate_bench"
    setup_django(database)
    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone

    from agents.models import Step, Task
    from agents.services.tasks import task_submit, tasks_stalled_resume

    owner, _ = User.objects.get_or_create(username="bench")
    agent = echo_chain_agent("bench-concurrency", steps=STEPS, latency_ms=MODEL_LATENCY_MS)

    def run(sessions: int) -> dict:
        # Submitted in one transaction: the runs are sent when it commits, all at once.
        with transaction.atomic():
            ids = [
                task_submit(owner=owner, agent_name=agent.name, input=f"session {i}")[0].id
                for i in range(sessions)
            ]
            sent_from = timezone.now()  # the commit follows at once and sends every run
        sent_in_ms = (timezone.now() - sent_from).total_seconds() * 1000
        deadline = time.monotonic() + 120 + sessions  # generous: a second a session
        next_sweep = time.monotonic() + 1
        while Task.objects.filter(pk__in=ids, finished_at__isnull=True).exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the sessions did not finish in {120 + sessions} s")
            if time.monotonic() > next_sweep:
                tasks_stalled_resume()  # what beat does every STALLED_SWEEP_S under `make run`
                next_sweep = time.monotonic() + 1
            time.sleep(0.05)
        # The end is when the last task finished, not when this loop noticed it.
        tasks = Task.objects.filter(pk__in=ids)
        last = tasks.order_by("-finished_at").values_list("finished_at", flat=True)[0]
        elapsed = (last - sent_from).total_seconds()
        failed = Task.objects.filter(pk__in=ids).exclude(status=Task.Status.SUCCEEDED).first()
        if failed is not None:
            raise RuntimeError(f"a session did not succeed: {failed.stop_reason} {failed.stop_detail}")
        steps = sessions * STEPS
        ideal_s = STEPS * MODEL_LATENCY_MS / 1000
        steps_per_s = steps / elapsed
        ideal_steps_per_s = steps / ideal_s
        return {
            "sessions": sessions,
            "model_latency_ms": MODEL_LATENCY_MS,
            "elapsed_s": round(elapsed, 2),
            "steps_per_s": round(steps_per_s, 1),
            "ideal_steps_per_s": round(ideal_steps_per_s, 1),
            "efficiency": round(steps_per_s / ideal_steps_per_s, 3),
            "overhead_p50_ms": round(percentile(step_overheads(ids, sent_from), 50), 1),
            "overhead_p95_ms": round(percentile(step_overheads(ids, sent_from), 95), 1),
            # Runs that died on an unexpected error and were retried (0 when all is well).
            "overhead_by_step": overheads_by_step(ids, sent_from),
            "start_delay": f"{start_delays(ids, sent_from)} (every run sent in {sent_in_ms:.0f} ms)",
            "run_failures": sum(Task.objects.filter(pk__in=ids).values_list("run_failures", flat=True)),
        }

    def step_overheads(ids: list, sent_from, index: int | None = None) -> list[float]:
        values = []
        previous: dict = {}
        for task_id, step_index, finished, latency in (
            Step.objects.filter(task_id__in=ids)
            .order_by("task_id", "index")
            .values_list("task_id", "index", "finished_at", "model_latency_ms")
        ):
            start = previous.get(task_id, sent_from)
            if index is None or step_index == index:
                values.append((finished - start).total_seconds() * 1000 - latency)
            previous[task_id] = finished
        return values

    def start_delays(ids: list, sent_from) -> str:
        # From the sending of the runs to each task's claim: the Celery hop and the queue for a core.
        values = [
            (started - sent_from).total_seconds() * 1000
            for started in Task.objects.filter(pk__in=ids).values_list("started_at", flat=True)
        ]
        return (
            f"p50 {percentile(values, 50):.0f} / p95 {percentile(values, 95):.0f} / max {max(values):.0f} ms"
        )

    def overheads_by_step(ids: list, sent_from) -> str:
        # Where the overhead is: the first step includes the Celery hop and the claim.
        parts = []
        for index in range(STEPS):
            values = step_overheads(ids, sent_from, index)
            parts.append(
                f"step {index}: p50 {percentile(values, 50):.0f} / p95 {percentile(values, 95):.0f} ms"
            )
        return "; ".join(parts)

    from django.db import connection

    settings_dict = connection.settings_dict
    dsn = os.environ["DATABASE_URL"]
    results = []
    # Each size on a worker of its own, so that each figure (memory above all: a process keeps
    # the heap its largest load grew) is that load's alone.
    with simulator():
        for sessions in [SESSIONS_LARGE, SESSIONS] if SESSIONS_LARGE else [SESSIONS]:
            with worker() as child:
                run(2)  # warm up: imports, connections, the price table, the embedding model
                cpu_before, pg_before = process_tree_cpu_s(child.pid), postgres_cpu_s()
                with RssSampler(child.pid) as rss, ConnectionSampler(dsn, settings_dict["NAME"]) as conns:
                    result = run(sessions)
                steps = sessions * STEPS
                # CPU per step is what a loaded machine changes least (time is shared, work is not).
                result["worker_cpu_ms_per_step"] = round(
                    (process_tree_cpu_s(child.pid) - cpu_before) / steps * 1000, 2
                )
                pg_after = postgres_cpu_s()  # while the worker's backends still run
            if pg_before is not None and pg_after is not None:
                result["pg_cpu_ms_per_step"] = round((pg_after - pg_before) / steps * 1000, 2)
            result["worker_pss_mb"] = round(rss.peak_pss_bytes / 2**20, 1)
            result["worker_rss_mb"] = round(rss.peak_bytes / 2**20, 1)
            result["pg_connections_max"] = conns.peak
            results.append(result)
    for result in results:
        print(f"{result['sessions']} sessions, overhead by step: {result.pop('overhead_by_step')}")
        print(f"{result['sessions']} sessions, from sending to the claim: {result.pop('start_delay')}")
        print(
            f"{result['sessions']} sessions x {STEPS} steps at {MODEL_LATENCY_MS} ms a model call: "
            f"{result['elapsed_s']} s, {result['steps_per_s']} steps/s of an ideal "
            f"{result['ideal_steps_per_s']} (efficiency {result['efficiency']}); overhead p50 "
            f"{result['overhead_p50_ms']} ms, p95 {result['overhead_p95_ms']} ms; worker PSS "
            f"{result['worker_pss_mb']} MB; PostgreSQL connections at most {result['pg_connections_max']}; "
            f"worker CPU {result['worker_cpu_ms_per_step']} ms a step, PostgreSQL "
            f"{result.get('pg_cpu_ms_per_step', '(not measured)')} ms"
        )
    print(json.dumps(results[0]))
    print(json.dumps(results[-1]))


if __name__ == "__main__":
    main()

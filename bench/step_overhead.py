"""Platform overhead per agent step: Tollgate's runtime against bare HTTP calls to the same model.

Drives sessions through the simulator (0 ms latency) with a real Celery worker, and in the
same run makes as many bare httpx calls to the same simulator endpoint. Prints overhead per
step (step time minus the model call), steps per second at 1 and 20 concurrent sessions,
one step per Celery task against several, the worker's peak RSS, and its CPU time per step
(worker_cpu_ms_per_step). The last line is JSON.
"""

import json
import os
import subprocess
import time

from harness import RssSampler, percentile, process_tree_cpu_s, setup_django, simulator, worker

STEPS_PER_TASK = 10  # nine tool-calling steps and a final answer
SEQUENTIAL_TASKS = 20
CONCURRENT_SESSIONS = 20
CONCURRENT_ROUNDS = 5


def main() -> None:
    setup_django("tollgate_bench")
    from django.contrib.auth.models import User

    from agents.models import Agent, AgentVersion, Step, Task, Tool
    from agents.services.tasks import task_submit
    from agents.tools.python import python_tools_sync

    python_tools_sync()
    owner, _ = User.objects.get_or_create(username="bench")
    model = f"sim/chain?calls={STEPS_PER_TASK - 1}&tool=echo"
    agent, _ = Agent.objects.get_or_create(name="bench-chain")
    version = AgentVersion.objects.create(
        agent=agent, number=agent.versions.count() + 1, model=model, max_iterations=STEPS_PER_TASK + 5
    )
    version.tools.set(Tool.objects.filter(name="echo"))
    agent.current_version = version
    agent.save(update_fields=["current_version"])

    def run_tasks(count: int) -> tuple[list, float]:
        started = time.perf_counter()
        tasks = [task_submit(owner=owner, agent_name=agent.name, input="bench")[0] for _ in range(count)]
        ids = [t.id for t in tasks]
        deadline = time.monotonic() + 300
        while Task.objects.filter(pk__in=ids, finished_at__isnull=True).exists():
            if time.monotonic() > deadline:
                raise RuntimeError("tasks did not finish in 300 s")
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        done = list(Task.objects.filter(pk__in=ids))
        failed = [t for t in done if t.status != Task.Status.SUCCEEDED]
        if failed:
            raise RuntimeError(
                f"{len(failed)} tasks did not succeed: {failed[0].stop_reason} {failed[0].stop_detail}"
            )
        return ids, elapsed

    def overheads(ids: list) -> list[float]:
        return [value for _, value in indexed_overheads(ids)]

    def indexed_overheads(ids: list) -> list[tuple[int, float]]:
        """(step index, overhead) of every step of the tasks."""
        values = []
        created = dict(Task.objects.filter(pk__in=ids).values_list("pk", "created_at"))
        previous: dict = {}
        for task_id, index, finished, latency in (
            Step.objects.filter(task_id__in=ids)
            .order_by("task_id", "index")
            .values_list("task_id", "index", "finished_at", "model_latency_ms")
        ):
            start = previous.get(task_id, created[task_id])
            values.append((index, (finished - start).total_seconds() * 1000 - latency))
            previous[task_id] = finished
        return values

    with simulator() as sim_url:
        bare = bare_calls(sim_url, STEPS_PER_TASK * SEQUENTIAL_TASKS)
        results = {}
        for steps_per_run in (1, 8):
            os.environ["STEPS_PER_RUN"] = str(steps_per_run)
            with worker() as child, RssSampler(child.pid) as rss:
                run_tasks(2)  # warm up: imports, connections, price table
                cpu_before = process_tree_cpu_s(child.pid)
                seq_ids, seq_elapsed = run_tasks_sequentially(run_tasks, SEQUENTIAL_TASKS)
                conc_steps, conc_elapsed = 0, 0.0
                for _ in range(CONCURRENT_ROUNDS):
                    ids, elapsed = run_tasks(CONCURRENT_SESSIONS)
                    conc_steps += len(ids) * STEPS_PER_TASK
                    conc_elapsed += elapsed
                # The worker's CPU over both phases ÷ their steps: what a loaded machine changes least.
                worker_cpu_s = process_tree_cpu_s(child.pid) - cpu_before
            over = overheads(seq_ids)
            # One session's rate against its steps' own times: what the steps do not explain
            # is spent between a task's submission and its first step, or after its last.
            by_index: dict[int, list[float]] = {}
            for index, value in indexed_overheads(seq_ids):
                by_index.setdefault(index, []).append(value)
            print(
                f"STEPS_PER_RUN={steps_per_run}, 1 session: "
                f"{seq_elapsed / len(seq_ids) * 1000:.0f} ms a task from submission to the end seen, "
                f"its steps' overheads summing to "
                f"{sum(over) / len(seq_ids):.0f} ms; overhead p50 by step index: "
                + ", ".join(f"{i}: {percentile(v, 50):.1f}" for i, v in sorted(by_index.items()))
            )
            results[steps_per_run] = {
                "overhead_p50_ms": percentile(over, 50),
                "overhead_p95_ms": percentile(over, 95),
                "steps_per_s_1": SEQUENTIAL_TASKS * STEPS_PER_TASK / seq_elapsed,
                "steps_per_s_20": conc_steps / conc_elapsed,
                "worker_rss_mb": rss.peak_bytes / 2**20,
                "worker_pss_mb": rss.peak_pss_bytes / 2**20,
                "worker_largest_process_mb": rss.peak_single_bytes / 2**20,
                "worker_cpu_ms_per_step": worker_cpu_s * 1000 / (len(seq_ids) * STEPS_PER_TASK + conc_steps),
            }

    print(
        f"bare httpx call to the simulator: p50 {percentile(bare, 50):.2f} ms, "
        f"p95 {percentile(bare, 95):.2f} ms ({len(bare)} calls)"
    )
    for steps_per_run, r in results.items():
        print(
            f"STEPS_PER_RUN={steps_per_run}: overhead p50 {r['overhead_p50_ms']:.2f} ms, "
            f"p95 {r['overhead_p95_ms']:.2f} ms; {r['steps_per_s_1']:.0f} steps/s with 1 session, "
            f"{r['steps_per_s_20']:.0f} steps/s with {CONCURRENT_SESSIONS}; worker RSS peak "
            f"{r['worker_rss_mb']:.0f} MB RSS summed over its 3 processes, {r['worker_pss_mb']:.0f} MB PSS, "
            f"largest process {r['worker_largest_process_mb']:.0f} MB; worker CPU "
            f"{r['worker_cpu_ms_per_step']:.1f} ms a step"
        )
    best = results[8]
    print(
        json.dumps(
            {
                "overhead_p50_ms": round(best["overhead_p50_ms"], 2),
                "overhead_p95_ms": round(best["overhead_p95_ms"], 2),
                "steps_per_s": round(best["steps_per_s_20"], 1),
                "worker_rss_mb": round(best["worker_rss_mb"], 1),
                "worker_pss_mb": round(best["worker_pss_mb"], 1),
                "worker_cpu_ms_per_step": round(best["worker_cpu_ms_per_step"], 2),
            }
        )
    )


def run_tasks_sequentially(run_tasks, count: int) -> tuple[list, float]:
    ids, total = [], 0.0
    for _ in range(count):
        batch, elapsed = run_tasks(1)
        ids += batch
        total += elapsed
    return ids, total


def bare_calls(sim_url: str, count: int) -> list[float]:
    """The same request a step makes, sent with a plain pooled httpx client."""
    import httpx

    body = {"model": "echo", "messages": [{"role": "user", "content": "bench"}], "max_tokens": 1024}
    timings = []
    with httpx.Client() as client:
        for _ in range(count):
            started = time.perf_counter()
            client.post(f"{sim_url}/v1/chat/completions", json=body).raise_for_status()
            timings.append((time.perf_counter() - started) * 1000)
    return timings


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as error:
        raise SystemExit(error.returncode) from error

"""An eval run of a 200-case suite on the simulator, tools answered from recorded fixtures.

One worker as `make run` starts it (the threads pool at WORKER_CONCURRENCY). Each case is the
demo refund conversation (three model calls, two recorded tool results, three checks: the
expected calls in order and two CEL assertions). Prints the wall time from starting the run to
its end and cases per second; and the platform's overhead per case, from runs of a one-case
suite one after another (so nothing queues): the run's wall time, from starting it to its end,
minus its model calls' latency. The last line is JSON.
"""

import json
import subprocess
import time

from harness import agent_version_new, percentile, setup_django, simulator, worker

CASES = 200
WARM_UP_CASES = 5
SINGLE_RUNS = 20


def main() -> None:
    setup_django("tollgate_bench")
    from django.contrib.auth.models import User

    from agents.models import Step, Tool
    from evals.models import EvalCaseResult, EvalRun, EvalSuite
    from evals.services.runs import eval_run_start
    from evals.services.suites import suite_create

    # The eval tests' refund cases (their module imports no pytest); bench/harness.py put the
    # project root on the path.
    from tests.evals.support import refund_cases_add

    owner, _ = User.objects.get_or_create(username="bench", defaults={"is_staff": True})
    tools = []
    for name in ("lookup_order", "issue_refund"):
        tool, _ = Tool.objects.get_or_create(
            name=name, defaults={"url": "http://127.0.0.1:9/never-called", "trust": "trusted"}
        )
        tools.append(tool)
    agent = agent_version_new("bench-evals", model="sim/refund", tools=tools)
    version = agent.current_version

    def suite_of(size: int) -> EvalSuite:
        suite = suite_create(actor=owner, agent_name=agent.name, name=f"bench-{size}-{time.time_ns()}")
        refund_cases_add(owner, suite, size)
        return suite

    def run_suite(suite: EvalSuite) -> tuple[EvalRun, float]:
        started = time.perf_counter()
        run = eval_run_start(suite=suite, agent_version=version, by=owner)
        deadline = time.monotonic() + 600
        while EvalRun.objects.filter(pk=run.pk, status=EvalRun.Status.RUNNING).exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the run did not end in 600 s")
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        run.refresh_from_db()
        return run, elapsed

    warm_up, single, big = suite_of(WARM_UP_CASES), suite_of(1), suite_of(CASES)
    overheads = []
    with simulator(), worker():
        run_suite(warm_up)  # imports, connections, the price table, the CEL evaluator
        for _ in range(SINGLE_RUNS):
            one, one_elapsed = run_suite(single)
            model = sum(
                Step.objects.filter(task__eval_result__run=one).values_list("model_latency_ms", flat=True)
            )
            overheads.append(one_elapsed * 1000 - model)
        run, elapsed = run_suite(big)

    if run.status != EvalRun.Status.PASSED:
        raise RuntimeError(f"the run {run.status}: {run.cases_failed} failed, {run.cases_errored} errors")
    results = list(EvalCaseResult.objects.filter(run=run).select_related("task"))
    checking = [(result.finished_at - result.task.finished_at).total_seconds() * 1000 for result in results]
    model_ms = sum(Step.objects.filter(task__eval_result__run=run).values_list("model_latency_ms", flat=True))
    cases_per_s = CASES / elapsed
    print(
        f"{CASES} cases (3 model calls, 2 recorded tool results, 3 checks each) in {elapsed:.2f} s: "
        f"{cases_per_s:.1f} cases/s; from a task's end to its case checked p50 "
        f"{percentile(checking, 50):.1f} ms; model time per case {model_ms / CASES:.1f} ms. "
        f"A one-case run alone, {SINGLE_RUNS} times: overhead (wall time minus model calls) p50 "
        f"{percentile(overheads, 50):.1f} ms, p95 {percentile(overheads, 95):.1f} ms. "
        "No tool was called (the tools' URL is a closed port)."
    )
    print(
        json.dumps(
            {
                "cases": CASES,
                "wall_s": round(elapsed, 2),
                "cases_per_s": round(cases_per_s, 1),
                "overhead_per_case_ms": round(percentile(overheads, 50), 1),
            }
        )
    )


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as error:
        raise SystemExit(error.returncode) from error

"""What evaluating one rule condition costs, and the worst cases the save-time limits allow.

No database: conditions are evaluated through approvals.policy.conditions exactly as the risk
policy does for one tool call. Measured: a condition without a macro on small arguments (run in
this process), one with a macro (run in an evaluator child process: the pipe round trip), and
the slowest conditions found within the limits, in each place. The last line is JSON.
"""

import json
import os
import time

from harness import percentile

ITERATIONS = 2000
WARMUP = 50
ARGS = {"amount": 150, "to": "ops@acme.com", "items": [{"sku": f"S{n}", "price": n * 10} for n in range(5)]}


def timed(source: str, args: dict, *, iterations: int = ITERATIONS) -> list[float]:
    from approvals.policy.conditions import CallConditions

    times = []
    for n in range(WARMUP + iterations):
        started = time.perf_counter()
        conditions = CallConditions(args=args, tool="issue_refund", agent="bot", budget_s=30)
        _, error = conditions.matches(source)
        elapsed = time.perf_counter() - started
        if error:
            raise SystemExit(f"{source}: {error}")
        if n >= WARMUP:
            times.append(elapsed * 1000)
    return times


def literal_worst_case() -> str:
    """Two nested maps over the longest literal lists that fit, inside a third macro."""
    from core.cel.limits import MAX_CONDITION_CHARS, condition_limits_check

    width = 1
    while True:
        items = "[" + ",".join(["0"] * (width + 1)) + "]"
        source = f"{items}.map(a, {items}.map(b, a + b)).exists(r, r.size() < 0) || true"
        if len(source) > MAX_CONDITION_CHARS:
            break
        best, width = source, width + 1
    condition_limits_check(best)
    return best


def in_process_worst_case() -> tuple[str, dict]:
    """A chain of `+` as long as the limit allows over the largest argument run in-process."""
    from core.cel.bounded import IN_PROCESS_MAX_FACTS_CHARS
    from core.cel.limits import MAX_CONDITION_CHARS

    terms = (MAX_CONDITION_CHARS - 10) // len("args.s+")
    source = "+".join(["args.s"] * terms) + ' != ""'
    return source, {"s": "x" * (IN_PROCESS_MAX_FACTS_CHARS - 60)}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings.test")
    import django

    django.setup()
    results = {}
    for name, source in (
        ("in_process", 'args.amount > 100 && args.to.endsWith("@acme.com")'),
        ("sandbox", "args.items.exists(i, i.price > 30)"),
    ):
        times = timed(source, ARGS)
        results[f"{name}_p50_ms"] = round(percentile(times, 50), 3)
        results[f"{name}_p95_ms"] = round(percentile(times, 95), 3)
        print(
            f"{name:>10}: p50 {results[f'{name}_p50_ms']} ms, p95 {results[f'{name}_p95_ms']} ms  ({source})"
        )
    worst = literal_worst_case()
    results["literal_worst_ms"] = round(max(timed(worst, {}, iterations=5)), 1)
    print(
        f"worst case within the limits on literal data ({len(worst)} chars): {results['literal_worst_ms']} ms"
    )
    source, args = in_process_worst_case()
    results["in_process_worst_ms"] = round(max(timed(source, args, iterations=20)), 1)
    print(
        f"worst case run in-process ({len(source)} chars, 4 KB argument): {results['in_process_worst_ms']} ms"
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()

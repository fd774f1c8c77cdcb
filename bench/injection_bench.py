"""Prompt-injection detection on the held-back split of the project's corpus.

No database, no service: scan() in this process, and `manage.py injection_scan` in a child for
the command's throughput. The held-back split (payload families and carrier kinds never seen in
training or when the threshold was chosen) comes from injection/corpus/corpus.jsonl.gz. Prints
rates per payload family and carrier kind, then the last line JSON: tpr, fpr, scan_p95_ms_2kb,
lines_per_s.
"""

import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

from harness import BIN, ROOT, percentile

from injection.detect import scan
from injection.training.corpus import HELD_OUT_CARRIERS, HELD_OUT_FAMILIES, load

LATENCY_SAMPLES = 500
TEXT_2KB = 2048


def rates(rows: list[dict]) -> tuple[float, float, dict[str, list[int]]]:
    by_source: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    flagged_injected = flagged_benign = injected = benign = 0
    for row in rows:
        flagged = scan(row["text"]).flagged
        for source in (f"family {row['family']}", f"carrier {row['carrier']}"):
            by_source[source][0] += flagged
            by_source[source][1] += 1
        if row["label"]:
            injected += 1
            flagged_injected += flagged
        else:
            benign += 1
            flagged_benign += flagged
    return flagged_injected / injected, flagged_benign / benign, by_source


def scan_p95_ms(rows: list[dict]) -> tuple[float, float]:
    """p95 of scan() on 2 KB texts (every n-th held-back row, benign and injected, cut or repeated
    to 2,048 characters): on the wall clock, and in this thread's CPU time, which is what the wall
    clock shows when the machine is not shared."""
    step = max(1, len(rows) // LATENCY_SAMPLES)
    texts = [(row["text"] * (1 + TEXT_2KB // max(1, len(row["text"]))))[:TEXT_2KB] for row in rows[::step]]
    for text in texts[:20]:
        scan(text)
    wall, cpu = [], []
    for text in texts:
        started, started_cpu = time.perf_counter(), time.thread_time()
        scan(text)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
    return percentile(wall, 95), percentile(cpu, 95)


def command_lines_per_s(rows: list[dict]) -> tuple[float, float]:
    """Lines per second of `manage.py injection_scan` over every held-back row, in one process,
    its start-up (Django's settings) included: per wall-clock second, and per second of the
    child's CPU time (what one core gives when the machine is not shared)."""
    lines = [json.dumps({"text": row["text"], "tool": "bench"}) for row in rows]
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", encoding="utf-8") as batch:
        batch.write("\n".join(lines) + "\n")
        batch.flush()
        started = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [str(BIN / "python"), "manage.py", "injection_scan", "--input", batch.name],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    answered = len(done.stdout.splitlines())
    if answered != len(lines):
        raise SystemExit(f"the command answered {answered} of {len(lines)} lines")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return answered / elapsed, answered / cpu


def main() -> None:
    rows = [row for row in load() if row["split"] == "heldout"]
    injected = sum(row["label"] for row in rows)
    print(f"held-back split: {injected} injected, {len(rows) - injected} benign")
    tpr, fpr, by_source = rates(rows)
    both = [r for r in rows if r["family"] in HELD_OUT_FAMILIES and r["carrier"] in HELD_OUT_CARRIERS]
    both_flagged = sum(scan(r["text"]).flagged for r in both)
    print(f"injected rows whose family and carrier were both unseen: {both_flagged} / {len(both)} flagged")
    for source, (flagged, total) in sorted(by_source.items()):
        print(f"  {source:34} flagged {flagged:5} / {total:5} ({flagged / total:.3f})")
    p95, p95_cpu = scan_p95_ms(rows)
    lines_per_s, lines_per_cpu_s = command_lines_per_s(rows)
    print(f"scan p95 on 2 KB: {p95:.2f} ms wall, {p95_cpu:.2f} ms CPU")
    print(f"command: {lines_per_s:.0f} lines/s wall, {lines_per_cpu_s:.0f} lines per CPU second")
    print(f"tpr {tpr:.4f}  fpr {fpr:.4f}")
    print(
        json.dumps(
            {
                "tpr": round(tpr, 4),
                "fpr": round(fpr, 4),
                "scan_p95_ms_2kb": round(p95, 3),
                "lines_per_s": round(lines_per_s, 1),
                "scan_p95_cpu_ms_2kb": round(p95_cpu, 3),
                "lines_per_cpu_s": round(lines_per_cpu_s, 1),
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())

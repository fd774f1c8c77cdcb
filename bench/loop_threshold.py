"""The loop threshold, chosen on one labelled set and reported on another.

The labelled runs of bench/loop_cases.py come in two halves that share no topic and no seed.
On the `tuning` half the semantic threshold is swept at the default window K and repeat
limit N (the exact check on, as in the runtime); the chosen threshold is the middle of the
thresholds that meet both targets there (recall >= 0.95, false kills <= 0.01), the rule
docs/guardrails.md states. Recall and false-kill rate are then measured on the `held_out`
half, at the chosen threshold and at the configured default (LOOP_SIMILARITY_THRESHOLD).

Ends with one JSON line: threshold_chosen, tuning_recall, tuning_false_kill_rate,
loop_recall and false_kill_rate (held out, at the chosen threshold), and the held-out
figures at the configured default.
"""

import json
import sys

from harness import setup_django

THRESHOLDS = [0.95, 0.90, 0.85, 0.80, 0.75, 0.70, 0.65, 0.60, 0.55]
RECALL_TARGET = 0.95
FALSE_KILL_TARGET = 0.01


def main() -> int:
    setup_django("tollgate_bench_vectors")
    from django.conf import settings

    from agents.embeddings.registry import embedder

    model = embedder()
    window, limit = settings.LOOP_WINDOW, settings.REPEATED_TOOL_CALL_LIMIT
    default = settings.LOOP_SIMILARITY_THRESHOLD
    print(f"embedder {model.name}; K {window}, N {limit}; configured threshold {default}")

    print("tuning half (120 looping, 120 healthy runs):")
    sweep = {}
    for threshold in THRESHOLDS:
        sweep[threshold] = measure(model, "tuning", threshold=threshold, window=window, limit=limit)
        recall, false_kills = sweep[threshold]
        print(f"  threshold {threshold:.2f}: recall {recall:.3f}, false kills {false_kills:.3f}")
    meeting = sorted(t for t, (r, f) in sweep.items() if r >= RECALL_TARGET and f <= FALSE_KILL_TARGET)
    if not meeting:
        print("no threshold meets both targets on the tuning half")
        return 1
    chosen = meeting[(len(meeting) - 1) // 2]
    print(f"meeting both targets: {meeting}; chosen (the middle): {chosen:.2f}")

    held_recall, held_false = measure(model, "held_out", threshold=chosen, window=window, limit=limit)
    print(f"held-out half at {chosen:.2f}: recall {held_recall:.3f}, false kills {held_false:.3f}")
    if default != chosen:
        at_default = measure(model, "held_out", threshold=default, window=window, limit=limit)
    else:
        at_default = (held_recall, held_false)
    print(
        f"held-out half at the configured {default:.2f}: "
        f"recall {at_default[0]:.3f}, false kills {at_default[1]:.3f}"
    )
    print(
        json.dumps(
            {
                "threshold_chosen": chosen,
                "tuning_recall": round(sweep[chosen][0], 4),
                "tuning_false_kill_rate": round(sweep[chosen][1], 4),
                "loop_recall": round(held_recall, 4),
                "false_kill_rate": round(held_false, 4),
                "configured_threshold": default,
                "loop_recall_at_configured": round(at_default[0], 4),
                "false_kill_rate_at_configured": round(at_default[1], 4),
            }
        )
    )
    return 0


def measure(model, split: str, *, threshold: float, window: int, limit: int) -> tuple[float, float]:
    """(recall, false-kill rate) of the runtime's loop checks over one half of the set."""
    from loop_cases import case_replay, labelled_cases

    outcomes = [
        case_replay(case, model=model, threshold=threshold, window=window, limit=limit)
        for case in labelled_cases(split)  # type: ignore[arg-type]
    ]
    looping = [o for o in outcomes if o.case.looping]
    healthy = [o for o in outcomes if not o.case.looping]
    caught = sum(1 for o in looping if o.halted_by)
    killed = sum(1 for o in healthy if o.halted_by)
    return caught / len(looping), killed / len(healthy)


if __name__ == "__main__":
    sys.exit(main())

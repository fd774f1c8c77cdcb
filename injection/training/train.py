"""Train the classifier and write injection/detect/weights/classifier.npz.

    python -m injection.training.train

Logistic regression over hashed character and word n-grams (injection/detect/features.py), fitted with
numpy alone (full-batch Adam): the model is a vector of 2^19 weights, so a library would add a
dependency for one matrix product. It learns from windows of the `train` split: windows inside the
payload of injected rows (each payload family weighing the same) against windows of benign rows
and of Django's docstring prose, then a second round with the benign windows the first round
scored highest (hard negatives). The threshold is chosen on the `validation` split (benign rows of
three carrier kinds training never sees), where the rules' verdicts are combined with the
classifier's as at scan time: the lowest threshold whose false-positive rate stays within
TARGET_FPR. The held-out split is never read here.
"""

import argparse
import random
from pathlib import Path

import numpy as np
import numpy.typing as npt

from injection.detect.classifier import WEIGHTS
from injection.detect.features import DIMENSIONS, WINDOW_CHARS, window_features, window_logits
from injection.detect.scanner import scan
from injection.training.corpus import CORPUS, load
from injection.training.prose import django_sentences

SEED = 13
WINDOW_STRIDE = 128
MAX_WINDOWS_PER_ROW = 8
SHORT_WINDOWS_PER_ROW = 2
SHORT_BENIGN_MIN_CHARS = 24
SHORT_INJECTED_MIN_CHARS = 60
HARD_NEGATIVES = 6_000
# Benign windows of Django's docstring prose: more ordinary English than the carriers hold, so that
# prose the model has not seen is not suspect for being unseen.
EXTRA_PROSE_WINDOWS = 4_000
# No L2 penalty: on the validation split every penalty tried (1e-5 to 1e-8, bench/README.md,
# injection_bench) flagged fewer injections at the same false-positive rate. 300 full-batch steps
# bound the weights without it (largest |w| ~16, well inside half precision).
EPOCHS = 300
LEARNING_RATE = 0.05
# Below the benchmark's 0.02 ceiling: a margin for the held-out carriers.
TARGET_FPR = 0.015

Rows = list[dict[str, object]]


def windows(row: dict[str, object], rng: random.Random) -> list[str]:
    """The training windows of a row: inside the payload when injected, anywhere when benign."""
    text = str(row["text"])
    if row["label"]:
        start, end = int(row["payload_start"]), int(row["payload_end"])  # type: ignore[call-overload]
        middle = (start + end) // 2
        left = max(0, middle - WINDOW_CHARS // 2)
        starts = list(range(start, end - WINDOW_CHARS + 1, WINDOW_STRIDE)) or [left]
    else:
        starts = list(range(0, max(1, len(text) - WINDOW_CHARS + 1), WINDOW_STRIDE))
    chosen = sorted(rng.sample(starts, min(MAX_WINDOWS_PER_ROW, len(starts))))
    found = [text[start : start + WINDOW_CHARS] for start in chosen]
    # Short stretches too: a tool's whole output can be one line, scored as one short window.
    for _ in range(SHORT_WINDOWS_PER_ROW):
        if row["label"]:
            # An injection's opening words carry it; a random stretch of a long one may not.
            length = rng.randint(SHORT_INJECTED_MIN_CHARS, WINDOW_CHARS - 1)
            start = int(row["payload_start"])  # type: ignore[call-overload]
        else:
            length = rng.randint(SHORT_BENIGN_MIN_CHARS, WINDOW_CHARS - 1)
            start = rng.randint(0, max(0, len(text) - length))
        found.append(text[start : start + length])
    return found


def fit(texts: list[str], labels: list[int], families: list[str]) -> tuple[npt.NDArray[np.float32], float]:
    rows, columns, values = [], [], []
    for index, text in enumerate(texts):
        features, frequencies = window_features(text)
        rows.append(np.full(len(features), index, dtype=np.int64))
        columns.append(features)
        values.append(frequencies)
    row = np.concatenate(rows)
    column = np.concatenate(columns)
    value = np.concatenate(values).astype(np.float64)
    target = np.asarray(labels, dtype=np.float64)
    sample_weight = class_weights(families, target)
    weights = np.zeros(DIMENSIONS)
    bias = 0.0
    # Adam's first and second moments, for the weights and for the bias.
    mean, square = np.zeros(DIMENSIONS), np.zeros(DIMENSIONS)
    bias_mean = bias_square = 0.0
    for step in range(1, EPOCHS + 1):
        logits = bias + np.bincount(row, weights=weights[column] * value, minlength=len(texts))
        error = (1.0 / (1.0 + np.exp(-logits)) - target) * sample_weight
        gradient = np.bincount(column, weights=error[row] * value, minlength=DIMENSIONS)
        bias_gradient = float(error.sum())
        mean = 0.9 * mean + 0.1 * gradient
        square = 0.999 * square + 0.001 * gradient**2
        bias_mean = 0.9 * bias_mean + 0.1 * bias_gradient
        bias_square = 0.999 * bias_square + 0.001 * bias_gradient**2
        correction = np.sqrt(1 - 0.999**step) / (1 - 0.9**step)
        weights -= LEARNING_RATE * correction * mean / (np.sqrt(square) + 1e-8)
        bias -= LEARNING_RATE * correction * bias_mean / (np.sqrt(bias_square) + 1e-8)
    return weights.astype(np.float32), bias


def class_weights(families: list[str], target: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each window's weight in the loss: each class weighs half, however many windows it has, and
    within the injected half each payload family weighs the same. A long jailbreak gives a row up to
    ten windows and a one-line instruction three: weighed by window, the long role-play families
    outweighed the short instructions that indirect injections are made of."""
    names = np.asarray(families)
    weight = np.where(target == 1, 0.0, 0.5 / (len(target) - target.sum()))
    injected = sorted(set(names[target == 1].tolist()))
    for family in injected:
        mine = (names == family) & (target == 1)
        weight[mine] = 0.5 / len(injected) / mine.sum()
    return weight


def best_window_logit(text: str, weights: npt.NDArray[np.float32], bias: float) -> float:
    logits, _ = window_logits(text, weights, bias)
    return float(logits.max()) if len(logits) else -30.0


def threshold(rows: Rows, weights: npt.NDArray[np.float32], bias: float) -> tuple[float, float, float]:
    """The lowest logit threshold whose false-positive rate (rules or classifier) is within
    TARGET_FPR, with the true- and false-positive rates it gives."""
    ruled = np.array([scan(str(row["text"]), use_classifier=False).flagged for row in rows])
    scores = np.array([best_window_logit(str(row["text"]), weights, bias) for row in rows])
    labels = np.array([bool(row["label"]) for row in rows])
    best = (float(scores.max()) + 1e-6, 0.0, 0.0)
    for candidate in sorted(set(scores[~labels].tolist()), reverse=True):
        flagged = ruled | (scores >= candidate)
        fpr = float(flagged[~labels].mean())
        if fpr > TARGET_FPR:
            break
        best = (candidate, float(flagged[labels].mean()), fpr)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args()
    rng = random.Random(SEED)
    corpus = load(args.corpus)
    train = [row for row in corpus if row["split"] == "train" and row["transform"] == "plain"]
    validation = [row for row in corpus if row["split"] == "validation"]
    texts: list[str] = []
    labels: list[int] = []
    families: list[str] = []
    for row in train:
        for window in windows(row, rng):
            texts.append(window)
            labels.append(int(row["label"]))  # type: ignore[call-overload]
            families.append(str(row["family"]))
    prose = extra_prose(rng)
    texts += prose
    labels += [0] * len(prose)
    families += ["benign"] * len(prose)
    weights, bias = fit(texts, labels, families)
    hard = _hard_negatives([row for row in train if not row["label"]], weights, bias)
    weights, bias = fit(texts + hard, labels + [0] * len(hard), families + ["benign"] * len(hard))
    cut, tpr, fpr = threshold(validation, weights, bias)
    print(
        f"{len(texts)} windows + {len(hard)} hard negatives; "
        f"validation tpr {tpr:.3f} fpr {fpr:.3f} at logit {cut:.3f}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # The threshold becomes probability 0.5: scan() flags at 0.5 whatever the model.
    np.savez_compressed(args.out, weights=weights.astype(np.float16), bias=np.float64(bias - cut))


def extra_prose(rng: random.Random) -> list[str]:
    """EXTRA_PROSE_WINDOWS stretches of consecutive Django docstring sentences, each up to a
    window long."""
    sentences = django_sentences()
    found = []
    for _ in range(EXTRA_PROSE_WINDOWS):
        index = rng.randrange(len(sentences))
        window = sentences[index]
        while index + 1 < len(sentences) and len(window) + len(sentences[index + 1]) < WINDOW_CHARS:
            index += 1
            window += " " + sentences[index]
        found.append(window)
    return found


def _hard_negatives(rows: Rows, weights: npt.NDArray[np.float32], bias: float) -> list[str]:
    scored = []
    for row in rows:
        text = str(row["text"])
        logits, starts = window_logits(text, weights, bias)
        for index in np.argsort(logits)[-3:]:
            start = int(starts[index])
            scored.append((float(logits[index]), text[start : start + WINDOW_CHARS]))
    scored.sort(key=lambda pair: pair[0], reverse=True)
    return [text for _, text in scored[:HARD_NEGATIVES]]


if __name__ == "__main__":
    main()

"""The trained classifier: logistic regression over hashed character and word n-grams, scored on every
window of a text; the text's score is its most suspicious window's.

The weights (weights/classifier.npz) are made by injection/training/train.py. Their bias is
shifted so that the threshold chosen on the validation split sits at a probability of 0.5.
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from injection.detect.features import DIMENSIONS, WINDOW_CHARS, window_logits
from injection.detect.result import Finding
from injection.detect.rules.patterns import snippet

DETECTOR = "classifier"
WEIGHTS = Path(__file__).resolve().parent / "weights" / "classifier.npz"
# Below this a text's few n-grams are too weak a signal (ordinary one-liners scored near the
# threshold): the rules alone judge a text this short.
MIN_CHARS = 64


@dataclass(frozen=True)
class Model:
    weights: npt.NDArray[np.float32]
    bias: float


@lru_cache(maxsize=1)
def model() -> Model:
    with np.load(WEIGHTS) as stored:
        weights = stored["weights"].astype(np.float32)
        bias = float(stored["bias"])
    if weights.shape != (DIMENSIONS,):
        raise ValueError(f"{WEIGHTS}: {weights.shape[0]} weights, expected {DIMENSIONS}")
    return Model(weights=weights, bias=bias)


def probability(text: str) -> tuple[float, int, int]:
    """The most suspicious window's probability and its [start, end) in text."""
    if len(text) < MIN_CHARS:
        return 0.0, 0, 0
    current = model()
    logits, starts = window_logits(text, current.weights, current.bias)
    best = int(np.argmax(logits))
    start = int(starts[best])
    end = start + min(WINDOW_CHARS, len(text))
    return float(1.0 / (1.0 + np.exp(-logits[best]))), start, end


def find(text: str, *, flag_at: float) -> list[Finding]:
    score, start, end = probability(text)
    if score < flag_at:
        return []
    return [Finding(DETECTOR, round(score, 4), snippet(text[start:end]), start, end)]

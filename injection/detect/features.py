"""Hashed character n-grams and word 1- and 2-grams, the classifier's features: the same code at
training and at scan time.

A text becomes, per character position, the hashes of the n-grams that start there (character
n-grams in the first half of the feature space, words and word pairs in the second). A window's
feature vector is the n-gram counts divided by their total, so a linear model's logit for every
window at once is a difference of cumulative sums (window_logits), whatever the stride.
"""

import re
import zlib

import numpy as np
import numpy.typing as npt

NGRAM_SIZES = (3, 4, 5)
HASH_BITS = 18
CHAR_DIMENSIONS = 1 << HASH_BITS
DIMENSIONS = 2 * CHAR_DIMENSIONS
WINDOW_CHARS = 256
# Digits carry no instruction: every digit is read as 0, so "step 3" and "step 7" share n-grams.
_FOLD_DIGITS = str.maketrans("123456789", "000000000")
_PRIME = np.uint64(0x100000001B3)
_MIX = np.uint64(0xFF51AFD7ED558CCD)
_MASK = np.uint64(CHAR_DIMENSIONS - 1)
_WORD = re.compile(r"\w+")


def normalise(text: str) -> str:
    return text.lower().translate(_FOLD_DIGITS)


def ngram_hashes(text: str) -> list[npt.NDArray[np.int64]]:
    """Per n in NGRAM_SIZES, the feature index of the n-gram starting at each position."""
    codes = np.frombuffer(normalise(text).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    indexes = []
    for size in NGRAM_SIZES:
        count = len(codes) - size + 1
        if count <= 0:
            indexes.append(np.zeros(0, dtype=np.int64))
            continue
        hashes = np.full(count, size, dtype=np.uint64)
        for offset in range(size):
            hashes = hashes * _PRIME + codes[offset : offset + count]
        hashes ^= hashes >> np.uint64(31)
        hashes *= _MIX
        hashes ^= hashes >> np.uint64(29)
        indexes.append((hashes & _MASK).astype(np.int64))
    return indexes


def word_hashes(text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The feature index of every word and word pair, and the position where each starts.

    Words tell the phrasing of an instruction ("print the following", "do not summarise") apart
    from the same letters in ordinary prose better than character n-grams alone.
    """
    words = [(match.start(), match.group()) for match in _WORD.finditer(normalise(text))]
    positions, indexes = [], []
    for index, (start, word) in enumerate(words):
        positions.append(start)
        # crc32, not hash(): Python's string hash changes from one process to the next.
        indexes.append(zlib.crc32(b"1 " + word.encode("utf-8", "surrogatepass")))
        if index + 1 < len(words):
            positions.append(start)
            pair = f"2 {word} {words[index + 1][1]}".encode("utf-8", "surrogatepass")
            indexes.append(zlib.crc32(pair))
    # lower() can lengthen a text by a few characters: keep every position inside it.
    where = np.minimum(np.asarray(positions, dtype=np.int64), max(0, len(text) - 1))
    return where, CHAR_DIMENSIONS + (np.asarray(indexes, dtype=np.int64) & (CHAR_DIMENSIONS - 1))


def window_features(text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """One window's sparse feature vector (indexes, values summing to 1) for training."""
    indexes = np.concatenate([*ngram_hashes(text), word_hashes(text)[1]])
    if len(indexes) == 0:
        return indexes, np.zeros(0, dtype=np.float32)
    return indexes, np.full(len(indexes), 1.0 / len(indexes), dtype=np.float32)


def window_logits(
    text: str, weights: npt.NDArray[np.float32], bias: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """The logit of every WINDOW_CHARS-long window (one per start position; the whole text when it
    is shorter), and each window's start offset."""
    per_position = np.zeros(len(text) + 1, dtype=np.float64)
    counts = np.zeros(len(text) + 1, dtype=np.float64)
    for indexes in ngram_hashes(text):
        per_position[1 : len(indexes) + 1] += weights[indexes]
        counts[1 : len(indexes) + 1] += 1.0
    positions, indexes = word_hashes(text)
    np.add.at(per_position, positions + 1, weights[indexes])
    np.add.at(counts, positions + 1, 1.0)
    sums = np.cumsum(per_position)
    totals = np.cumsum(counts)
    width = min(WINDOW_CHARS, len(text))
    window_sums = sums[width:] - sums[: len(sums) - width]
    window_counts = np.maximum(totals[width:] - totals[: len(totals) - width], 1.0)
    return bias + window_sums / window_counts, np.arange(len(window_sums), dtype=np.int64)

"""What every embedding provider offers: unit-length vectors of a fixed dimension."""

from collections.abc import Sequence
from functools import cache
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class EmbeddingError(Exception):
    """The embedding could not be computed (the endpoint failed or answered nonsense)."""


class Embedder(Protocol):
    # Vectors of different models are never compared: rows carry this name and are filtered on it.
    name: str
    dimensions: int

    def embed(self, texts: list[str]) -> Vectors:
        """One L2-normalised row per text, so a dot product is the cosine similarity."""
        ...


def normalised(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    # An all-zero vector (empty text) stays zero rather than becoming NaN.
    return np.asarray(vectors / np.where(norms == 0, 1.0, norms), dtype=np.float32)


def vector_literal(vector: Sequence[float] | Vectors) -> str:
    """`vector` as pgvector's text input, each value the float4 the column stores. 9 significant
    digits name every float4 exactly, so the stored vector is the one the caller holds; repr's
    shortest round trip of each value as a double (17 digits) cost three times as much, ~13% of
    a runtime step's instructions for the loop guard's one vector (bench/README.md, step_profile)."""
    values = np.asarray(vector, dtype=np.float32).tolist()
    return "[" + _literal_format(len(values)) % tuple(values) + "]"


@cache
def _literal_format(dimensions: int) -> str:
    return ",".join(["%.9g"] * dimensions)

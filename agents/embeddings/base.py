"""What every embedding provider offers: unit-length vectors of a fixed dimension."""

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

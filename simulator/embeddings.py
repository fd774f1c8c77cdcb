"""The simulator's /v1/embeddings: deterministic vectors, no model.

Each word adds a fixed pseudo-random direction (seeded by a hash of the word), so the same
text always gets the same vector and texts sharing most words get similar ones, which is
all the tests of the OpenAI-compatible path need.
"""

import hashlib
import re
from typing import Any

import numpy as np

from simulator.play import Answer, openai_error
from simulator.tokens import CHARS_PER_TOKEN

DEFAULT_DIMENSIONS = 256
MAX_DIMENSIONS = 4096
MAX_INPUTS = 2048


def embeddings_answer(request: Any) -> Answer:
    if not isinstance(request, dict):
        return Answer(400, openai_error("the body must be a JSON object", code="invalid_json"))
    texts = request.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts or len(texts) > MAX_INPUTS:
        return Answer(400, openai_error("input must be a string or a list of strings", code="invalid_input"))
    if not all(isinstance(text, str) for text in texts):
        return Answer(400, openai_error("input must be a string or a list of strings", code="invalid_input"))
    dimensions = request.get("dimensions", DEFAULT_DIMENSIONS)
    if (
        not isinstance(dimensions, int)
        or isinstance(dimensions, bool)
        or not 1 <= dimensions <= MAX_DIMENSIONS
    ):
        return Answer(
            400, openai_error(f"dimensions must be 1 to {MAX_DIMENSIONS}", code="invalid_dimensions")
        )
    data = [
        {"object": "embedding", "index": index, "embedding": hashed_embedding(text, dimensions)}
        for index, text in enumerate(texts)
    ]
    tokens = sum(-(-len(text) // CHARS_PER_TOKEN) for text in texts)
    return Answer(
        200,
        {
            "object": "list",
            "data": data,
            "model": str(request.get("model") or "simulator-embedding"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        },
    )


def hashed_embedding(text: str, dimensions: int) -> list[float]:
    vector = np.zeros(dimensions)
    for word in re.findall(r"\w+", text.lower()):
        seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
        vector += np.random.default_rng(seed).standard_normal(dimensions)
    norm = np.linalg.norm(vector)
    if norm:
        vector /= norm
    return [round(float(x), 6) for x in vector]

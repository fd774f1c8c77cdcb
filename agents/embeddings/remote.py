"""Any OpenAI-compatible POST /embeddings endpoint (OpenAI, vLLM, Ollama, LiteLLM, the simulator)."""

from typing import Any

import numpy as np

from agents.embeddings.base import EmbeddingError, Vectors, normalised
from agents.providers.base import ProviderError
from agents.providers.http import post_json


class OpenAIEmbedder:
    def __init__(self, *, base_url: str, api_key: str, model: str, dimensions: int, timeout_s: float) -> None:
        self.name = f"openai/{model}-{dimensions}"
        self.dimensions = dimensions
        self._model = model
        self._url = base_url.rstrip("/") + "/embeddings"
        self._headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout_s = timeout_s

    def embed(self, texts: list[str]) -> Vectors:
        body: dict[str, Any] = {"model": self._model, "input": texts, "dimensions": self.dimensions}
        try:
            answer, _ = post_json(self._url, body=body, headers=self._headers, timeout_s=self._timeout_s)
        except ProviderError as exc:
            raise EmbeddingError(f"embeddings endpoint failed ({exc.kind}): {exc}") from exc
        try:
            # The API may answer out of order; `index` says which input each vector belongs to.
            rows = sorted(answer["data"], key=lambda row: row["index"])
            vectors = np.array([row["embedding"] for row in rows], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as exc:
            raise EmbeddingError("the embeddings response has no data[].embedding") from exc
        if vectors.shape != (len(texts), self.dimensions):
            raise EmbeddingError(
                f"expected {len(texts)} vectors of {self.dimensions} dimensions, got shape {vectors.shape}"
            )
        return normalised(vectors)

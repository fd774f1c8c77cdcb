"""The configured embedder: EMBEDDING_PROVIDER picks it, and the vector dimension follows it."""

from django.conf import settings

from agents.embeddings.base import Embedder
from agents.embeddings.local import WordLlamaEmbedder
from agents.embeddings.remote import OpenAIEmbedder

# Keyed on the settings each one was built from, so a changed setting builds a new one.
_embedders: dict[tuple[str, ...], Embedder] = {}


def embedder() -> Embedder:
    provider = settings.EMBEDDING_PROVIDER
    dimensions = int(settings.EMBEDDING_DIMENSIONS)
    if provider == "wordllama":
        key: tuple[str, ...] = (provider, str(dimensions))
        if key not in _embedders:
            _embedders[key] = WordLlamaEmbedder(dimensions=dimensions)
    elif provider == "openai":
        base_url = settings.EMBEDDING_BASE_URL
        key = (provider, base_url, settings.EMBEDDING_API_KEY, settings.EMBEDDING_MODEL, str(dimensions))
        if key not in _embedders:
            _embedders[key] = OpenAIEmbedder(
                base_url=base_url,
                api_key=settings.EMBEDDING_API_KEY,
                model=settings.EMBEDDING_MODEL,
                dimensions=dimensions,
                timeout_s=float(settings.MODEL_TIMEOUT_S),
            )
    else:
        raise ValueError(f"EMBEDDING_PROVIDER must be wordllama or openai, not {provider!r}")
    return _embedders[key]


def embed_one(text: str) -> list[float]:
    return [float(x) for x in embedder().embed([text])[0]]

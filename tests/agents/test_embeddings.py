"""Both embedding providers: the local WordLlama model and the OpenAI-compatible endpoint
(served by the real simulator over HTTP)."""

import numpy as np
import pytest
from django.db import connection

from agents.embeddings.base import EmbeddingError, vector_literal
from agents.embeddings.local import WordLlamaEmbedder
from agents.embeddings.registry import embedder


def test_wordllama_gives_unit_vectors_that_rank_paraphrases_above_unrelated_text():
    model = WordLlamaEmbedder()
    a, b, c = model.embed(
        [
            "The capital of Australia is Sydney.",
            "Sydney is the capital of Australia.",
            "Refund order A-1001 for the damaged kettle.",
        ]
    )
    assert model.dimensions == 256
    assert a.shape == (256,)
    assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-5)
    assert float(a @ b) > 0.9 > float(a @ c)


def test_a_smaller_dimension_is_a_prefix_of_the_model_and_named_apart(settings):
    settings.EMBEDDING_DIMENSIONS = 64
    model = embedder()
    assert model.dimensions == 64
    assert model.name == "wordllama/l2_supercat-64"
    assert model.embed(["hello"]).shape == (1, 64)


def test_the_openai_compatible_endpoint_is_called_over_http(settings, simulator_url):
    settings.EMBEDDING_PROVIDER = "openai"
    settings.EMBEDDING_BASE_URL = f"{simulator_url}/v1"
    settings.EMBEDDING_DIMENSIONS = 32
    model = embedder()

    first, again, other = model.embed(["same words here", "same words here", "entirely different text"])

    assert model.name == "openai/text-embedding-3-small-32"
    assert first.shape == (32,)
    assert np.allclose(first, again)
    assert float(first @ other) < 0.9


def test_an_endpoint_failure_is_an_embedding_error(settings, simulator_url):
    settings.EMBEDDING_PROVIDER = "openai"
    settings.EMBEDDING_BASE_URL = f"{simulator_url}/no-such-prefix"

    with pytest.raises(EmbeddingError, match="HTTP 404"):
        embedder().embed(["anything"])


def test_the_model_holds_its_weights_at_float16_and_embeds_exactly_as_at_float32():
    from agents.embeddings.local import _load

    model = _load()
    assert model.embedding.dtype == np.float16
    assert model.embedding.nbytes == 32_000 * 256 * 2
    texts = ["The capital of Australia is Sydney.", "Refund order A-1001 for the damaged kettle, twice."]
    at_float16 = model.embed(texts, norm=False)
    model.embedding = model.embedding.astype(np.float32)
    assert np.array_equal(model.embed(texts, norm=False), at_float16)


@pytest.mark.django_db
def test_a_vector_literal_is_stored_as_exactly_the_float4_values_it_was_made_from():
    """9 significant digits (not repr's 17) still name each float4 exactly: what pgvector stores
    is the vector the loop guard keeps in memory, bit for bit, extremes and zeros included."""
    rng = np.random.default_rng(7)
    vectors = [
        *(row / np.linalg.norm(row) for row in rng.standard_normal((20, 256)).astype(np.float32)),
        np.array([0.0, -0.0, 1.0, -1.0, 1e-38, 3.4028235e38, 1.1754944e-38, 0.1], dtype=np.float32),
    ]
    with connection.cursor() as cursor:
        for vector in vectors:
            literal = vector_literal(vector)
            assert np.array_equal(np.array(literal[1:-1].split(","), dtype=np.float32), vector)
            cursor.execute("SELECT %s::vector::text", [literal])
            stored = cursor.fetchone()[0]
            assert np.array_equal(np.array(stored[1:-1].split(","), dtype=np.float32), vector)
    # A list of the same values (as the loop guard holds them) gives the same literal.
    assert vector_literal(vectors[0].tolist()) == vector_literal(vectors[0])

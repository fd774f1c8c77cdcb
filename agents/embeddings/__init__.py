"""Text embeddings for loop detection and memory: a local CPU model or an OpenAI-compatible API."""

"""Whether a model may be configured (an agent's model or fallback, a routing table's entry):
a provider must be able to serve it, and it must have a price, or no cost ceiling could hold."""

from agents.providers.pricing import model_price_at, unpriced_reason
from agents.providers.registry import provider_refusal
from core import clock


def model_refusal(model: str) -> str | None:
    """Why `model` is refused, naming the model and what would be accepted; None if it is fine."""
    refusal = provider_refusal(model)
    if refusal is not None:
        return refusal
    if model_price_at(model=model, at=clock.now()) is None:
        return unpriced_reason(model)
    return None

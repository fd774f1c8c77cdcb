"""Route an agent's model name ("sim/refund", "openai/gpt-4o", ...) to a provider."""

from django.conf import settings

from agents.providers.anthropic import AnthropicProvider
from agents.providers.base import ChatProvider
from agents.providers.openai import OpenAIProvider

PREFIXES = ("sim/", "openai/", "anthropic/")

# Keyed on the settings each provider was built from, so a changed setting builds a new one.
_providers: dict[tuple[str, ...], ChatProvider] = {}


def provider_for(model: str) -> tuple[ChatProvider, str]:
    """The provider for a routed model name and the name to send it (the prefix removed)."""
    prefix, _, name = model.partition("/")
    if not name or f"{prefix}/" not in PREFIXES:
        raise ValueError(
            f"model {model!r} must start with one of {', '.join(PREFIXES)} followed by a model name"
        )
    timeout_s = float(settings.MODEL_TIMEOUT_S)
    if prefix == "sim":
        base_url = settings.SIMULATOR_URL.rstrip("/") + "/v1"
        key = ("simulator", base_url, "", str(timeout_s))
        if key not in _providers:
            _providers[key] = OpenAIProvider(
                base_url=base_url, api_key="", timeout_s=timeout_s, name="simulator"
            )
    elif prefix == "openai":
        key = ("openai", settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY, str(timeout_s))
        if key not in _providers:
            _providers[key] = OpenAIProvider(
                base_url=settings.OPENAI_BASE_URL, api_key=settings.OPENAI_API_KEY, timeout_s=timeout_s
            )
    else:
        key = ("anthropic", settings.ANTHROPIC_BASE_URL, settings.ANTHROPIC_API_KEY, str(timeout_s))
        if key not in _providers:
            _providers[key] = AnthropicProvider(
                base_url=settings.ANTHROPIC_BASE_URL,
                api_key=settings.ANTHROPIC_API_KEY,
                timeout_s=timeout_s,
            )
    return _providers[key], name

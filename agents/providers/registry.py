"""Route an agent's model name ("sim/refund", "openai/gpt-4o", ...) to a provider."""

from pathlib import Path

from django.conf import settings

from agents.providers.anthropic import AnthropicProvider
from agents.providers.base import ChatProvider
from agents.providers.openai import OpenAIProvider
from simulator.scenarios import BUILTIN_FOLDER, scenario_names

PREFIXES = ("sim/", "openai/", "anthropic/")

# Keyed on the settings each provider was built from, so a changed setting builds a new one.
_providers: dict[tuple[str, ...], ChatProvider] = {}


def provider_refusal(model: str) -> str | None:
    """Why no provider can serve `model`, naming what can be served; None when one can.

    OpenAI-compatible and Anthropic endpoints serve whatever names their operator deploys, so
    only the prefix is checked for them; the simulator serves exactly its scenario files (the
    bundled ones and those in SIM_SCENARIOS, the folders the simulator itself loads).
    """
    prefix, _, name = model.partition("/")
    if not name.strip() or f"{prefix}/" not in PREFIXES:
        return f"model {model!r} must be one of {', '.join(PREFIXES)} followed by a model name"
    if prefix == "sim":
        scenario = name.partition("?")[0]  # "sim/chain?calls=2" plays "chain" with a parameter
        known = scenario_names(folders=[BUILTIN_FOLDER, *(Path(f) for f in settings.SIM_SCENARIOS)])
        if scenario not in known:
            return f"the simulator has no scenario {scenario!r}; known: {', '.join(sorted(known))}"
    return None


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

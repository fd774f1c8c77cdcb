"""The model simulator: an OpenAI-compatible server that plays scripted scenarios, and the demo's tools."""

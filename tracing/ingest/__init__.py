"""OTLP/HTTP trace ingestion: GenAI spans of agents that run elsewhere, into sessions and traces."""

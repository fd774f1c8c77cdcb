"""The gate API's rules for agents that run elsewhere: ask, wait, report (docs/integrations.md)."""

"""The checks a new agent version must pass before it serves new sessions.

The runtime's catalog knows nothing of how a version is checked (eval suites): an app that
checks versions registers its checker in `AppConfig.ready()` (evals does). Without one, or
when the checker has nothing required for the agent, an edit is current at once.
"""

from typing import Protocol

from django.contrib.auth.models import User

from agents.models import Agent, AgentVersion


class VersionChecker(Protocol):
    def required(self, *, agent: Agent) -> bool:
        """Whether a new version of `agent` must pass checks before it is made current."""
        ...

    def start(self, *, version: AgentVersion, actor: User) -> None:
        """Start checking a candidate version; called inside the transaction that created it.
        Its outcome comes back through agents.services.catalog.agent_version_decide."""
        ...


class NoChecks:
    def required(self, *, agent: Agent) -> bool:
        return False

    def start(self, *, version: AgentVersion, actor: User) -> None:
        return None


_checker: VersionChecker = NoChecks()


def version_checker_register(checker: VersionChecker) -> None:
    global _checker
    _checker = checker


def version_checker() -> VersionChecker:
    return _checker

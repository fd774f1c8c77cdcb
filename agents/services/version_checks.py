"""The checks a new agent version must pass before it serves new sessions.

The runtime's catalog knows nothing of how a version is checked (eval suites): an app that
checks versions registers its checker in `AppConfig.ready()` (evals does). Without one, or
when the checker has nothing required for the agent, an edit is current at once (and a draft,
agents.services.catalog.agent_draft_create, a draft at once).

A candidate waits while its checks run. When one ended without an outcome (an eval run in
`error`) or was never run, nothing will decide it until a person acts: the checker says so
(`blocked`), the API and the console show it, and serving the candidate (as a canary, by a
rollback) is refused naming what to do (version_not_serving).
"""

from dataclasses import dataclass, field
from typing import Any, Protocol

from django.contrib.auth.models import User

from agents.models import Agent, AgentVersion
from core.errors import Conflict


@dataclass(frozen=True)
class VersionBlock:
    """Why a candidate cannot be decided until a person acts, and what to do."""

    code: str  # e.g. eval_run_error: a required suite's run ended in error
    message: str
    # What the block names (the suite, the run), for a client to act without another request.
    details: dict[str, Any] = field(default_factory=dict)


class VersionNotServing(Conflict):
    """A candidate or rejected version asked to serve new sessions; the code is the candidate's
    block when it has one (eval_run_error), else `conflict`."""

    def __init__(self, message: str, *, field: str, block: VersionBlock | None) -> None:
        super().__init__(message, field=field, details=block.details if block else None)
        if block is not None:
            self.code = block.code


class VersionChecker(Protocol):
    def required(self, *, agent: Agent) -> bool:
        """Whether a new version of `agent` must pass checks before it is made current (or,
        created as a draft, before it may serve as a canary)."""
        ...

    def start(self, *, version: AgentVersion, actor: User) -> None:
        """Start checking a candidate version; called inside the transaction that created it.
        Its outcome comes back through agents.services.catalog.agent_version_decide."""
        ...

    def blocked(self, *, version: AgentVersion) -> VersionBlock | None:
        """For a candidate: why its checks cannot decide it until a person acts; None while
        they are running (or for a version that is no candidate)."""
        ...


class NoChecks:
    def required(self, *, agent: Agent) -> bool:
        return False

    def start(self, *, version: AgentVersion, actor: User) -> None:
        return None

    def blocked(self, *, version: AgentVersion) -> VersionBlock | None:
        return None


_checker: VersionChecker = NoChecks()


def version_checker_register(checker: VersionChecker) -> None:
    global _checker
    _checker = checker


def version_checker() -> VersionChecker:
    return _checker


def version_not_serving(version: AgentVersion, *, field: str, use: str) -> VersionNotServing | None:
    """The refusal to serve `version` for `use` ("be a canary", "be current") unless it passed
    its checks (a current version or a draft); None when it did. A blocked candidate's refusal
    carries its block's code and says what to do."""
    if version.status in (AgentVersion.Status.CURRENT, AgentVersion.Status.DRAFT):
        return None
    candidate = version.status == AgentVersion.Status.CANDIDATE
    block = version_checker().blocked(version=version) if candidate else None
    if block is not None:
        reason = block.message
    elif candidate:
        reason = "its required checks are still running"
    else:
        reason = "it failed its required checks"
    return VersionNotServing(
        f"version {version.number} is {version.status}: only a version that passed its required checks "
        f"can {use}; {reason}",
        field=field,
        block=block,
    )

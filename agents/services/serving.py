"""Making a version the one an agent's new sessions run (outside a rollout)."""

from agents.models import Agent, AgentVersion


def version_make_current(*, agent: Agent, version: AgentVersion) -> None:
    """New sessions of `agent` run `version` from now on, and a draft becomes `current` (made
    current once). Call it holding the agent's row lock, or ending its rollout, inside the
    transaction that audits the change."""
    agent.current_version = version
    agent.save(update_fields=["current_version"])
    # Conditional: only a draft changes state here; any other version serving again keeps its own.
    drafted = AgentVersion.objects.filter(pk=version.pk, status=AgentVersion.Status.DRAFT).update(
        status=AgentVersion.Status.CURRENT
    )
    if drafted:
        version.status = AgentVersion.Status.CURRENT

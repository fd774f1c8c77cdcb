"""Rows the tests build again and again."""

from agents.models import Agent, AgentVersion, Tool


def make_agent(name: str, *, model: str, tools: list[Tool] | tuple[Tool, ...] = (), **budgets) -> Agent:
    agent = Agent.objects.create(name=name)
    version = AgentVersion.objects.create(
        agent=agent, number=1, model=model, system_prompt="Be brief.", **budgets
    )
    version.tools.set(tools)
    agent.current_version = version
    agent.save(update_fields=["current_version"])
    return agent


def make_http_tool(name: str, url: str, **fields) -> Tool:
    # Trusted unless a test says otherwise: most tests read the tool's raw result back from the
    # conversation; the injection tests (tests/injection/) make untrusted ones.
    fields.setdefault("trust", "trusted")
    return Tool.objects.create(
        name=name,
        url=url,
        parameters={"type": "object", "properties": {"i": {"type": ["string", "integer"]}}},
        **fields,
    )

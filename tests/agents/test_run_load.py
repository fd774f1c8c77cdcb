"""A run's load: the claim's one statement brings the version's tools as the ORM reads them."""

from datetime import datetime

import pytest

from agents.models import Tool
from agents.services.tasks import task_submit
from tests.factories import make_agent, make_http_tool
from tests.support.run_state import run_state_claimed

pytestmark = pytest.mark.django_db


def test_the_tools_a_run_loads_are_the_rows_the_orm_reads(requester):
    """Read as JSON rows (core/raw_rows.py row_instance_json): every field has its Python type
    (timestamps, floats, JSON arguments), the same values as the ORM's, and the tools come by name."""
    first = make_http_tool("zeta_lookup", "http://127.0.0.1:9/zeta")
    second = make_http_tool("alpha_lookup", "http://127.0.0.1:9/alpha")
    Tool.objects.filter(pk=second.pk).update(timeout_s=2.5, compensation_arguments={"undo": [1, "x"]})
    make_agent("loader", model="sim/echo", tools=[first, second])
    task, _ = task_submit(owner=requester, agent_name="loader", input="hi")

    state = run_state_claimed(task.id)

    assert list(state.tools) == ["alpha_lookup", "zeta_lookup"]
    fields = [field.attname for field in Tool._meta.concrete_fields]

    def values(tool: Tool) -> dict:
        return {name: getattr(tool, name) for name in fields}

    for tool in state.tools.values():
        assert values(tool) == values(Tool.objects.get(pk=tool.pk))
        assert isinstance(tool.created_at, datetime)
        assert tool.created_at.tzinfo is not None
    assert state.tools["alpha_lookup"].timeout_s == 2.5
    assert state.tools["alpha_lookup"].compensation_arguments == {"undo": [1, "x"]}

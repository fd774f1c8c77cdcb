# The real simulator and tool server the runtime tests use.
from tests.agents.conftest import simulator_url, tool_server, use_simulator  # noqa: F401

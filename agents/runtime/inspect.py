"""The tool-result inspector: the one look the runtime lets another app take at a tool's result
before the model sees it.

The runtime knows nothing of what is looked for (injected instructions, in the injection app,
which registers its inspector in `AppConfig.ready()`). Without one, results reach the model as
the tool returned them.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from agents.models import Tool
from agents.providers.base import ToolCall
from agents.tools.result import ToolResult
from tracing.recorder import SpanBuffer

if TYPE_CHECKING:
    from agents.runtime.state import RunState


@dataclass(frozen=True)
class Inspection:
    """`result` is what the model is told (the tool span keeps the raw result);
    `span_attributes` are added to the tool span; `cost` is what the inspection's own model
    calls cost (already settled against the spend ceilings), added to the step's cost."""

    result: ToolResult
    span_attributes: dict[str, Any] = field(default_factory=dict)
    cost: Decimal = Decimal(0)


class ToolResultInspector(Protocol):
    def inspect(
        self,
        *,
        state: "RunState",
        spans: SpanBuffer,
        tool: Tool,
        call: ToolCall,
        step_index: int,
        call_index: int,
        result: ToolResult,
    ) -> Inspection: ...


class PassThrough:
    """Every result reaches the model unchanged: the runtime with no inspector registered."""

    def inspect(self, *, result: ToolResult, **_call: Any) -> Inspection:
        return Inspection(result=result)


_inspector: ToolResultInspector = PassThrough()


def inspector_register(inspector: ToolResultInspector) -> None:
    global _inspector
    _inspector = inspector


def tool_result_inspector() -> ToolResultInspector:
    return _inspector

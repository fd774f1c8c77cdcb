"""The structured result every tool returns: never a raw exception or traceback."""

from dataclasses import asdict, dataclass
from typing import Any, Literal

ToolStatus = Literal["success", "error"]
ToolErrorType = Literal["transient", "permanent", "rate_limit"]


@dataclass(frozen=True)
class ToolResult:
    status: ToolStatus
    error_type: ToolErrorType | None = None
    retry_safe: bool = False
    message: str = ""
    data: Any = None
    retry_after_s: float | None = None

    @classmethod
    def success(cls, data: Any, message: str = "") -> "ToolResult":
        return cls(status="success", data=data, message=message)

    @classmethod
    def error(
        cls,
        error_type: ToolErrorType,
        message: str,
        *,
        retry_safe: bool = False,
        retry_after_s: float | None = None,
        data: Any = None,
    ) -> "ToolResult":
        return cls(
            status="error",
            error_type=error_type,
            retry_safe=retry_safe,
            message=message,
            retry_after_s=retry_after_s,
            data=data,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

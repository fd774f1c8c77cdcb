"""The structured result every tool returns: never a raw exception or traceback."""

from dataclasses import dataclass
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
        # What dataclasses.asdict gives, without its deep copy of `data` (a copy of every
        # value, on every tool call, three times a call): the result is frozen and nothing
        # changes its data in place, so the dict may share it.
        return {
            "status": self.status,
            "error_type": self.error_type,
            "retry_safe": self.retry_safe,
            "message": self.message,
            "data": self.data,
            "retry_after_s": self.retry_after_s,
        }

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> "ToolResult":
        """A result stored with as_dict (a JSON column), read back."""
        return cls(
            status=stored.get("status", "error"),
            error_type=stored.get("error_type"),
            retry_safe=bool(stored.get("retry_safe")),
            message=str(stored.get("message") or ""),
            data=stored.get("data"),
            retry_after_s=stored.get("retry_after_s"),
        )

"""Request and response bodies of the REST API, parsed and bounded at the boundary.

The limits mirror the model columns (max_length, PostgreSQL integer ranges, decimal digits)
so that nothing a client sends reaches the database in a shape it would reject. Input
schemas forbid unknown fields: a misspelt "budget" must fail loudly, not be ignored.

Optional fields of agents are declared `<type> = omitted()`: an omitted field stays unset
(and keeps its default or current value), while an explicit `null` is rejected, because
none of them has a meaning for null. A task's optional `session` and `idempotency_key`
accept null as "none".
"""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, StringConstraints

from agents.models.tool import TOOL_NAME_PATTERN
from agents.providers.registry import PREFIXES
from core.pagination import PageQuery

# PostgreSQL `integer`, the column type behind PositiveIntegerField.
PG_INT_MAX = 2_147_483_647
# Longer than any real prompt or task input; the request-size limit bounds the whole body anyway.
MAX_TEXT = 100_000
MAX_TOOLS_PER_AGENT = 128
# Tool.timeout_s is a hard limit per call; TASK_LEASE_S (180 s) must outlast a step's calls.
MAX_TOOL_TIMEOUT_S = 120.0

AgentName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[-a-zA-Z0-9_]+$")]
ToolName = Annotated[str, StringConstraints(pattern=TOOL_NAME_PATTERN)]
# A routed model name: "sim/refund", "openai/gpt-4o", "anthropic/claude-sonnet-4-5".
MODEL_NAME_PATTERN = "^(" + "|".join(PREFIXES) + r")\S"
ModelName = Annotated[
    str, StringConstraints(max_length=200, pattern=MODEL_NAME_PATTERN), Field(examples=["sim/refund"])
]
OptionalModelName = Annotated[
    str, StringConstraints(max_length=200, pattern=f"{MODEL_NAME_PATTERN}|^$"), Field(examples=["sim/refund"])
]
LongText = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
Budget = Annotated[int, Field(ge=0, le=PG_INT_MAX)]
SpanId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
MICRO_USD = Decimal("0.000001")
NEXT_DOC = "the next page's URL (same filters, a cursor); null on the last page"


def usd(amount: Decimal) -> str:
    """Money as a decimal string with the columns' six places: "5.000000", never a float."""
    return str(Decimal(amount).quantize(MICRO_USD))


def omitted(**constraints: Any) -> Any:
    """An optional field without a null: the None default is never validated, a sent null is."""
    return Field(default=None, **constraints)


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Schema):
    code: str
    message: str
    field: str | None = None


class ErrorOut(Schema):
    error: ErrorDetail


# The statuses a route may answer with an ErrorOut, as the OpenAPI document lists them.
WRITE_ERRORS = frozenset({400, 401, 403, 404, 409, 413, 415, 422})
READ_ERRORS = frozenset({400, 401, 403, 404, 422})


# Tools


TrustLevel = Literal["trusted", "untrusted"]
InjectionActionName = Literal["flag", "quarantine", "block"]
RiskTierName = Literal["low", "medium", "high", "critical"]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
ToolDescription = Annotated[str, StringConstraints(max_length=10_000)]
ToolUrl = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
# A compensation's arguments: argument name -> CEL over the original call's `args` and `result`.
CompensationArguments = Annotated[
    dict[Annotated[str, StringConstraints(max_length=64)], Annotated[str, StringConstraints(max_length=500)]],
    Field(
        max_length=32,
        description="the compensation's arguments as CEL expressions over the original call's final "
        "`args` and its `result` (docs/undo.md)",
        examples=[{"refund_id": "result.data.refund_id", "amount": "args.amount"}],
    ),
]
COMPENSATION_DOC = "the tool that reverses this one's effect (docs/undo.md); null: irreversible"


class ToolIn(Input):
    name: ToolName = Field(examples=["lookup_order"])
    description: ToolDescription = ""
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="JSON Schema of the arguments; its root is an object",
        examples=[
            {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}
        ],
    )
    url: ToolUrl = Field(examples=["https://shop.example/orders/lookup"])
    method: HttpMethod = "POST"
    timeout_s: float = Field(default=10.0, ge=0.1, le=MAX_TOOL_TIMEOUT_S, allow_inf_nan=False)
    honours_idempotency_key: bool = Field(
        default=False,
        description="the tool applies a request's effect once per Idempotency-Key header; only then is "
        "a POST or PATCH ever sent twice (a call to any other tool with those methods is at most once)",
    )
    # Required on purpose: a forgotten tier on a refund tool must not default to "runs at once".
    risk_tier: RiskTierName
    trust: TrustLevel = Field(
        default="untrusted",
        description="untrusted: results are scanned for injected instructions, taint the session "
        "and reach the model delimited as data (docs/injection.md)",
    )
    injection_action: InjectionActionName = Field(
        default="flag", description="what happens to a result a detector flagged"
    )
    compensation: ToolName | None = Field(default=None, description=COMPENSATION_DOC)
    compensation_arguments: CompensationArguments = Field(default_factory=dict)


class ToolPatch(Input):
    """An omitted field keeps its value; the tier is changed with PUT /policy/tools/{name}."""

    trust: TrustLevel = omitted()
    injection_action: InjectionActionName = omitted()
    description: ToolDescription = omitted()
    parameters: dict[str, Any] = omitted(description="JSON Schema of the arguments; its root is an object")
    url: ToolUrl = omitted(examples=["https://shop.example/v2/orders/lookup"])
    method: HttpMethod = omitted()
    timeout_s: float = omitted(ge=0.1, le=MAX_TOOL_TIMEOUT_S, allow_inf_nan=False)
    # null is meaningful here: the tool becomes irreversible (its mapping goes too).
    compensation: ToolName | None = Field(default=None, description=COMPENSATION_DOC)
    compensation_arguments: CompensationArguments = omitted()


class ToolOut(Schema):
    name: str
    kind: str = Field(description="http (registered here) or python (defined in code)")
    description: str
    parameters: dict[str, Any]
    url: str
    method: str
    timeout_s: float
    honours_idempotency_key: bool
    risk_tier: str
    trust: str
    injection_action: str
    compensation: str | None = Field(description=COMPENSATION_DOC)
    compensation_arguments: dict[str, str]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_compensation(tool: Any) -> str | None:
        return tool.compensation.name if tool.compensation_id else None


class ToolFilter(PageQuery):
    risk_tier: RiskTierName | None = None
    kind: Literal["http", "python"] | None = None


class ToolPage(Schema):
    items: list[ToolOut]
    next: str | None = Field(description=NEXT_DOC)


# Agents


class BudgetsIn(Input):
    max_tokens: Budget = omitted(description="token budget per task")
    max_cost_usd: Decimal = omitted(ge=0, max_digits=12, decimal_places=6, allow_inf_nan=False)
    max_tool_calls: Budget = omitted()
    max_iterations: Budget = omitted()
    max_seconds: Budget = omitted()


class LoopsIn(Input):
    """Loop detection for this agent; an omitted field keeps the global default (docs/guardrails.md)."""

    threshold: float = omitted(gt=0, le=1, allow_inf_nan=False, description="cosine similarity")
    window: int = omitted(ge=1, le=50, description="K: consecutive repeating outputs that halt")
    repeat_limit: int = omitted(ge=2, le=1000, description="N: identical tool calls that halt")


class AgentIn(Input):
    name: AgentName
    system_prompt: LongText = ""
    model: ModelName
    fallback_model: OptionalModelName = ""
    tools: list[ToolName] = Field(
        default_factory=list, max_length=MAX_TOOLS_PER_AGENT, examples=[["lookup_order"]]
    )
    budgets: BudgetsIn = Field(default_factory=BudgetsIn)
    loops: LoopsIn = Field(default_factory=LoopsIn)
    input_trust: TrustLevel = Field(
        default="trusted",
        description="untrusted for agents fed by public forms: the task's input taints the session "
        "and is scanned (docs/injection.md)",
    )


class AgentPatch(Input):
    system_prompt: LongText = omitted()
    model: ModelName = omitted()
    fallback_model: OptionalModelName = omitted()
    tools: list[ToolName] = omitted(max_length=MAX_TOOLS_PER_AGENT, examples=[["lookup_order"]])
    budgets: BudgetsIn = omitted()
    loops: LoopsIn = omitted()
    input_trust: TrustLevel = omitted()


class BudgetsOut(Schema):
    max_tokens: int
    max_cost_usd: str
    max_tool_calls: int
    max_iterations: int
    max_seconds: int


class LoopsOut(Schema):
    threshold: float
    window: int
    repeat_limit: int


class BlockingRunOut(Schema):
    suite: int
    suite_name: str
    run: str | None = Field(description="the run that ended in error; null: the suite has no run")


class VersionBlockOut(Schema):
    code: str = Field(
        description="eval_run_error: a required suite's latest run against it ended in error; "
        "eval_run_missing: a required suite has no run against it",
        examples=["eval_run_error"],
    )
    message: str = Field(description="what blocks it and how to re-run the suite")
    runs: list[BlockingRunOut]


class AgentOut(Schema):
    name: str
    version: int
    system_prompt: str
    model: str
    fallback_model: str
    tools: list[str]
    budgets: BudgetsOut
    loops: LoopsOut = Field(description="in effect: the agent's own values or the global defaults")
    input_trust: str
    current: bool = Field(description="this version is the one new sessions use")
    status: Literal["candidate", "draft", "current", "rejected"] = Field(
        description="candidate: waiting for the agent's required eval suites (docs/evals.md); "
        "draft: passed them (or has none) but serves only as a rollout's canary until a promotion "
        "or a rollback makes it current; current: made current once; rejected: a required suite failed"
    )
    created_as_draft: bool = Field(
        description="added by POST /agents/{name}/versions: passing its required suites makes it a "
        "draft, not current"
    )
    blocked: VersionBlockOut | None = Field(
        description="for a candidate that waits for a person: a required suite's run ended in "
        "error (or it has none); null while its runs run, and for any other version"
    )
    created_at: datetime
    version_created_at: datetime


class AgentFilter(PageQuery):
    model: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="only agents whose current version uses this model"
    )
    tool: ToolName | None = Field(
        default=None, description="only agents whose current version lists this tool"
    )


class AgentPage(Schema):
    items: list[AgentOut]
    next: str | None = Field(description=NEXT_DOC)


class RollbackIn(Input):
    version: int = Field(
        ge=1, le=PG_INT_MAX, description="the older version (or a draft) to make current", examples=[1]
    )


# Tasks


class TaskIn(Input):
    agent: AgentName = Field(examples=["support-bot"])
    input: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT)]
    session: uuid.UUID | None = Field(default=None, description="continue this session of yours")
    user: Annotated[str, StringConstraints(max_length=200)] = Field(
        default="", description="your end user's id, kept on a new session"
    )
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="the same key always returns the same task"
    )


class TaskAccepted(Schema):
    id: uuid.UUID
    session: uuid.UUID
    status: str


class UsageOut(Schema):
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cost_usd: str = Field(description="USD, a decimal string")
    tool_calls: int


class ToolCallOut(Schema):
    id: str
    name: str
    arguments: Any
    result: dict[str, Any] | None = Field(description="the tool's structured result once it ran")


class StepOut(Schema):
    index: int
    status: str
    model: str
    content: str
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cost_usd: str
    model_latency_ms: float
    tool_calls: list[ToolCallOut]
    started_at: datetime
    finished_at: datetime | None


TaskStatus = Literal["queued", "running", "waiting_approval", "succeeded", "failed", "halted", "cancelled"]


class TaskSummaryOut(Schema):
    id: uuid.UUID
    agent: str
    agent_version: int = Field(description="the agent version its session runs")
    session: uuid.UUID
    user: str = Field(description="the end user of its session")
    status: TaskStatus
    input: str
    result: str
    partial: bool
    stop_reason: str
    stop_detail: str
    usage: UsageOut
    created_at: datetime
    started_at: datetime | None = Field(description="when a worker first picked it up")
    finished_at: datetime | None
    duration_s: float | None = Field(description="from submission to its end, waits for people included")


class TaskOut(TaskSummaryOut):
    steps: list[StepOut]


class StepPage(Schema):
    items: list[StepOut]
    next: str | None = Field(description=NEXT_DOC)


class TaskFilter(PageQuery):
    status: TaskStatus | None = None
    agent: AgentName | None = None
    session: uuid.UUID | None = None
    user: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="the end user of the task's session"
    )


class TaskPage(Schema):
    items: list[TaskSummaryOut]
    next: str | None = Field(description=NEXT_DOC)


# Sessions


class SessionOut(Schema):
    id: uuid.UUID
    agent: str
    agent_version: int
    user: str = Field(description="the end user it talks with")
    owner: str = Field(description="the account whose token started it")
    rollout: int | None = Field(description="the rollout that chose its version (docs/rollout.md)")
    rollout_arm: Literal["baseline", "canary", ""] = Field(description="the arm it drew; empty without one")
    created_at: datetime
    updated_at: datetime


class SessionFilter(PageQuery):
    agent: AgentName | None = None
    user: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="the end user"
    )


class SessionPage(Schema):
    items: list[SessionOut]
    next: str | None = Field(description=NEXT_DOC)


# Traces


class SpanOut(Schema):
    span_id: str
    parent_span_id: str
    name: str
    kind: str
    status: str
    step_index: int | None
    started_at: datetime
    ended_at: datetime
    duration_ms: float
    attributes: dict[str, Any]
    input: Any
    output: Any


class TraceOut(Schema):
    task: uuid.UUID
    trace_id: str | None
    spans: list[SpanOut]
    next: str | None = Field(description="pass as `after` for the next page; null on the last page")

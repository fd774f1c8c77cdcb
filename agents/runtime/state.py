"""What one run of a task needs in memory, loaded once per Celery task, not per step."""

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from agents.models import AgentVersion, Step, Task, Tool
from agents.runtime.playback import Playback, playback_of

if TYPE_CHECKING:
    from agents.guards.plan import GuardContext
    from agents.runtime.lease import Lease


@dataclass
class RunState:
    task: Task
    version: AgentVersion
    tools: dict[str, Tool]
    tool_specs: list[dict]
    trace_pk: int
    trace_id: str
    run_started_at: datetime
    guard: "GuardContext | None" = None  # the guards' config and plan (agents/guards/plan.py)
    lease: "Lease | None" = None  # None only where a test runs a step without a claim
    # task.messages holds the whole conversation in memory; its first history_len messages are
    # the session's earlier ones, referred to (Task.history_task), not stored with the task.
    history_len: int = 0
    # The earlier task's last model span and how many of its prompt's messages this task's first
    # prompt repeats (the system prompt included), known on the run that opens the task.
    continues: tuple[str, str, int] | None = None  # (its trace id, its span id, messages)
    # Whether the agent had any memory when the run began: the opening recalls only if so.
    agent_has_memories: bool = True
    # Whether the session had any task but this one when the run began (false: its first task).
    session_has_other_tasks: bool = True
    # The stored reply of the step the run starts at, when a delivery that died stored it
    # (read with the task: agents/runtime/loop.py _load); the run's first step replays it.
    stored_step: Step | None = None

    @cached_property
    def playback(self) -> Playback:
        """The task's playback, read once per run (it does not change while the task exists)."""
        return playback_of(self.task)

    def own_messages(self) -> list[dict]:
        """What the task row stores of its conversation."""
        return self.task.messages[self.history_len :]

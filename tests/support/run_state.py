"""A task's run state as a run would load it, for tests that call the guards directly."""

import uuid

from agents.runtime.lease import lease_forget
from agents.runtime.loop import _claim_load, _load
from agents.runtime.state import RunState


def run_state_claimed(task_id: uuid.UUID) -> RunState:
    """Claim the task (its lease, not renewed: no run goes on around the test) and load it."""
    claimed = _claim_load(task_id)
    assert claimed is not None, f"task {task_id} could not be claimed"
    lease, row = claimed
    lease_forget(lease)
    return _load(task_id, row)

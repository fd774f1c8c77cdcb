from approvals.models.audit import AuditEntry
from approvals.models.external import ExternalAction
from approvals.models.policy import PolicyRule, PolicyVersion
from approvals.models.request import ActionRequest, ActionVote
from approvals.models.undo import ActionUndo

__all__ = [
    "ActionRequest",
    "ActionUndo",
    "ActionVote",
    "AuditEntry",
    "ExternalAction",
    "PolicyRule",
    "PolicyVersion",
]

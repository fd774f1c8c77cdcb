from approvals.models.audit import AuditEntry
from approvals.models.policy import PolicyRule, PolicyVersion
from approvals.models.request import ActionRequest, ActionVote

__all__ = ["ActionRequest", "ActionVote", "AuditEntry", "PolicyRule", "PolicyVersion"]

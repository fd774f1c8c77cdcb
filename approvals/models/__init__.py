from approvals.models.audit import AuditEntry
from approvals.models.external import ExternalAction
from approvals.models.policy import PolicyRule, PolicyVersion
from approvals.models.request import ActionRequest, ActionVote

__all__ = ["ActionRequest", "ActionVote", "AuditEntry", "ExternalAction", "PolicyRule", "PolicyVersion"]

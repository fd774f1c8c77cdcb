from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"

    def ready(self) -> None:
        from agents.rollouts.comparison import approval_counter_register
        from agents.runtime.gate import gate_register
        from approvals.audit import audit_append
        from approvals.gate import ApprovalGate
        from approvals.task_counts import approval_counts
        from core.audit_log import audit_writer_register

        gate_register(ApprovalGate())
        audit_writer_register(audit_append)
        approval_counter_register(approval_counts)

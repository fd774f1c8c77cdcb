from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"

    def ready(self) -> None:
        from agents.runtime.gate import gate_register
        from approvals.audit import audit_append
        from approvals.gate import ApprovalGate
        from core.audit_log import audit_writer_register

        gate_register(ApprovalGate())
        audit_writer_register(audit_append)

from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"

    def ready(self) -> None:
        from agents.runtime.gate import gate_register
        from approvals.gate import ApprovalGate

        gate_register(ApprovalGate())

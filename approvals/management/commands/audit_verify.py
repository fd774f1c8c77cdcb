from typing import Any

from django.core.management.base import BaseCommand, CommandError

from approvals.audit import audit_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exits non-zero at the first tampered entry."

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify()
        if not report.ok:
            raise CommandError(f"audit chain broken at entry {report.broken_at}: {report.reason}")
        self.stdout.write(f"audit chain intact: {report.entries} entries")

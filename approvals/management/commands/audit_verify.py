from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from approvals.audit import audit_verify
from approvals.audit_anchors import AnchorFileError, audit_anchors_read


class Command(BaseCommand):
    help = (
        "Recompute the audit chain's MACs with AUDIT_HMAC_KEY and check it against the anchors; "
        "exits non-zero on any finding."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--anchor-file",
            action="append",
            type=Path,
            dest="anchor_files",
            help="an anchor file to check against (repeatable); default AUDIT_ANCHOR_FILE",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        paths = options["anchor_files"] or [Path(settings.AUDIT_ANCHOR_FILE)]
        anchors = []
        for path in paths:
            if options["anchor_files"] and not path.exists():
                raise CommandError(f"no anchor file at {path}")
            try:
                anchors.extend(audit_anchors_read(path))
            except AnchorFileError as exc:
                raise CommandError(str(exc)) from exc
        report = audit_verify(anchors=anchors)
        for finding in report.findings:
            self.stderr.write(f"entry {finding.seq}: {finding.reason}")
        if not report.ok:
            raise CommandError(f"audit chain broken at entry {report.broken_at}")
        if not report.anchors:
            self.stderr.write(
                "no anchors to check against: a deleted tail would go unnoticed "
                f"({', '.join(map(str, paths))})"
            )
        self.stdout.write(f"audit chain intact: {report.entries} entries, {report.anchors} anchors")

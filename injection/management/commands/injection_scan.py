import sys
from argparse import ArgumentParser, FileType
from typing import Any

from django.core.management.base import BaseCommand

from injection.detect.lines import scan_lines


class Command(BaseCommand):
    help = (
        'Scan JSON lines {"text": ..., "tool": ...} from a file or stdin for prompt injection; one '
        'JSON line out per line in, in order: {"score", "flagged", "detectors"} or {"error", "line"}. '
        "No network, no database."
    )
    # No system checks: they would reach for the database this command never uses.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--input", type=FileType("r", encoding="utf-8", errors="replace"), default=sys.stdin
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for answer in scan_lines(options["input"]):
            self.stdout.write(answer)

"""Prompt-injection detection: plain Python, no Django, no database, and no network unless the
caller passes an external classifier (injection/external.py builds Tollgate's from settings).

`scan(text, tool=...)` is the one entry point the rest of Tollgate calls; the detectors behind it
are private to this package.
"""

from injection.detect.result import Finding, ScanResult
from injection.detect.scanner import scan

__all__ = ["Finding", "ScanResult", "scan"]

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One detector's verdict on one stretch of the scanned text."""

    detector: str  # e.g. "rules.ignore_instructions", "classifier"
    score: float  # 0..1
    snippet: str  # the flagged text, at most 200 characters, never interpreted
    start: int  # character offsets into the scanned text
    end: int


@dataclass(frozen=True)
class ScanResult:
    score: float  # the highest finding's score, 0 when nothing was found
    flagged: bool
    findings: tuple[Finding, ...] = ()

    @property
    def detectors(self) -> list[str]:
        return sorted({finding.detector for finding in self.findings})

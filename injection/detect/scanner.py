import re

from injection.detect.result import Finding, ScanResult

# A first rule only, so that callers can be built against the real interface; the detector set
# (rules families, the trained classifier, an optional external classifier) replaces it.
_IGNORE_INSTRUCTIONS = re.compile(
    r"\b(ignore|disregard|forget)\s+(all\s+|any\s+)?(previous|prior|above)\s+instructions\b", re.I
)


def scan(text: str, *, tool: str | None = None) -> ScanResult:
    findings = tuple(
        Finding("rules.ignore_instructions", 1.0, match.group(0)[:200], match.start(), match.end())
        for match in _IGNORE_INSTRUCTIONS.finditer(text)
    )
    score = max((finding.score for finding in findings), default=0.0)
    return ScanResult(score=score, flagged=bool(findings), findings=findings)

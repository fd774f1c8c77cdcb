"""scan(): every detector over a text, in overlapping chunks, and one verdict.

A text is cut into CHUNK_CHARS-long chunks that overlap by CHUNK_OVERLAP, more than the longest
match any rule can make and than a classifier window, so an instruction that straddles a boundary
is whole in one of the two chunks. What a rule decodes or uncovers (hidden or encoded text) is
scanned again by the same detectors, MAX_DEPTH levels deep.
"""

from collections.abc import Iterator

from injection.detect import classifier
from injection.detect.external import TextClassifier
from injection.detect.result import Finding, ScanResult
from injection.detect.rules import encoded, exfiltration, hidden, indirect, instructions, spoofing
from injection.detect.rules.patterns import snippet

FLAG_AT = 0.5
CHUNK_CHARS = 8_000
CHUNK_OVERLAP = 2_000
# HTTP tools return at most 1 MB (agents/tools/http.py); more than this is not scanned, and says so.
MAX_SCAN_CHARS = 1_000_000
TRUNCATED = "limits.truncated"
MAX_DEPTH = 2
MAX_FINDINGS = 50

_TEXT_RULES = (instructions.find, indirect.find, spoofing.find, exfiltration.find, hidden.find)
_REVEALERS = (hidden.revealed, encoded.revealed)


def scan(
    text: str,
    *,
    tool: str | None = None,
    external: TextClassifier | None = None,
    use_classifier: bool = True,
) -> ScanResult:
    """Every detector's findings on `text` (a tool's output); flagged when one reaches FLAG_AT.

    `tool` names the source, for the external classifier; `external` is asked too when given.
    `use_classifier=False` runs the rules alone (training measures what the classifier adds).
    """
    scanned = _encodable(text[:MAX_SCAN_CHARS])
    found: list[Finding] = []
    for offset, chunk in chunks(scanned):
        found.extend(
            _shifted(finding, offset)
            for finding in _chunk_findings(chunk, depth=0, use_classifier=use_classifier)
        )
    if len(text) > MAX_SCAN_CHARS:
        # Unscanned text from an untrusted source is treated as suspect, not as clean.
        found.append(
            Finding(
                TRUNCATED,
                FLAG_AT,
                f"{len(text)} characters; the first {MAX_SCAN_CHARS} scanned",
                MAX_SCAN_CHARS,
                len(text),
            )
        )
    if external is not None:
        found.extend(external.find(scanned, tool=tool, flag_at=FLAG_AT))
    findings = _distinct(found)
    score = max((finding.score for finding in findings), default=0.0)
    return ScanResult(score=score, flagged=score >= FLAG_AT, findings=findings)


def chunks(text: str) -> Iterator[tuple[int, str]]:
    """(offset, chunk) pairs covering text, each chunk overlapping the previous by CHUNK_OVERLAP."""
    step = CHUNK_CHARS - CHUNK_OVERLAP
    start = 0
    while True:
        yield start, text[start : start + CHUNK_CHARS]
        if start + CHUNK_CHARS >= len(text):
            return
        start += step


def _chunk_findings(chunk: str, *, depth: int, use_classifier: bool) -> Iterator[Finding]:
    for rule in _TEXT_RULES:
        yield from rule(chunk)
    if use_classifier:
        yield from classifier.find(chunk, flag_at=FLAG_AT)
    if depth >= MAX_DEPTH:
        return
    for revealer in _REVEALERS:
        for uncovered in revealer(chunk):
            inner = list(_chunk_findings(uncovered.text, depth=depth + 1, use_classifier=use_classifier))
            if inner:
                best = max(inner, key=lambda finding: finding.score)
                yield Finding(
                    uncovered.detector, best.score, snippet(uncovered.text), uncovered.start, uncovered.end
                )


def _encodable(text: str) -> str:
    """The text with lone surrogates (JSON's "\\ud800" decodes to one) as "?", one for one so that
    offsets still hold: RE2 and the classifier read UTF-8, which cannot carry them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _shifted(finding: Finding, offset: int) -> Finding:
    if offset == 0:
        return finding
    return Finding(
        finding.detector, finding.score, finding.snippet, finding.start + offset, finding.end + offset
    )


def _distinct(found: list[Finding]) -> tuple[Finding, ...]:
    """One finding per (detector, span), those of a chunk overlap counted once; the strongest first,
    at most MAX_FINDINGS."""
    best: dict[tuple[str, int, int], Finding] = {}
    for finding in found:
        key = (finding.detector, finding.start, finding.end)
        if key not in best or finding.score > best[key].score:
            best[key] = finding
    ordered = sorted(best.values(), key=lambda finding: (-finding.score, finding.start))
    return tuple(ordered[:MAX_FINDINGS])

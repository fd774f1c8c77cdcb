"""Compiling and running the rule patterns, shared by the rule families."""

from collections.abc import Iterable, Iterator

import re2

from injection.detect.result import Finding

SNIPPET_CHARS = 200
# RE2 refuses, rather than slows down on, a pattern whose automaton would outgrow this.
_OPTIONS = re2.Options()
_OPTIONS.max_mem = 16 << 20
_OPTIONS.log_errors = False


def compile_rule(pattern: str) -> "re2._Regexp":
    """A case-insensitive RE2 pattern (RE2 reads `\\b` as an ASCII word boundary)."""
    return re2.compile("(?i)" + pattern, _OPTIONS)


def snippet(text: str) -> str:
    return text[:SNIPPET_CHARS]


def findings(patterns: Iterable[tuple["re2._Regexp", float]], text: str, detector: str) -> Iterator[Finding]:
    """One finding per match of each (pattern, score) pair."""
    for pattern, score in patterns:
        for match in pattern.finditer(text):
            start, end = match.span()
            yield Finding(detector, score, snippet(match.group(0)), start, end)

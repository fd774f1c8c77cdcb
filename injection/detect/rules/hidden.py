"""Hidden text: Unicode tag characters (invisible ASCII), bidi overrides, and words broken up by
zero-width characters so that no word-level rule sees them."""

from collections.abc import Iterator

from injection.detect.result import Finding
from injection.detect.rules.patterns import compile_rule, findings, snippet
from injection.detect.rules.revealed import Revealed

DETECTOR = "rules.hidden_text"

# U+E0000..U+E007F mirror ASCII and render as nothing: no ordinary text uses them outside flag
# emoji, where a handful follow U+1F3F4 (🏴); a run of eight or more is a hidden message.
_TAG_RUN = compile_rule(r"[\x{E0000}-\x{E007F}]{8,1000}")
# Overrides reorder what is displayed against what is stored (the Trojan Source trick); ordinary
# right-to-left text needs marks (U+200E/F) or embeddings, not overrides.
_BIDI_OVERRIDE = compile_rule(r"[\x{202D}\x{202E}][^\n]{0,80}")
# Letters with zero-width characters between them, three times or more: "i\u200bg\u200bn...".
# ZWNJ (U+200C) is left out: Persian and Indic scripts use it inside words.
_ZERO_WIDTH = "\u200b\u200d\u2060\u180e\ufeff"
_BROKEN_WORD = compile_rule(r"(?:\pL[\x{200B}\x{200D}\x{2060}\x{180E}\x{FEFF}]{1,4}){3,100}\pL")
# Around a broken word, enough of the text to hold the instruction it belongs to.
_CONTEXT_CHARS = 300

_PATTERNS = [(_BIDI_OVERRIDE, 0.7), (_BROKEN_WORD, 0.7)]


def find(text: str) -> Iterator[Finding]:
    if text.isascii():  # every character these rules look for is outside ASCII
        return
    yield from findings(_PATTERNS, text, DETECTOR)
    for match in _TAG_RUN.finditer(text):
        start, end = match.span()
        yield Finding(DETECTOR, 0.9, snippet(_untag(match.group(0))), start, end)


def revealed(text: str) -> Iterator[Revealed]:
    """The ASCII that tag characters spell, and broken words' surroundings with the zero-width
    characters taken out."""
    if text.isascii():
        return
    for match in _TAG_RUN.finditer(text):
        yield Revealed(DETECTOR, match.start(), match.end(), _untag(match.group(0)))
    for match in _BROKEN_WORD.finditer(text):
        start = max(0, match.start() - _CONTEXT_CHARS)
        end = min(len(text), match.end() + _CONTEXT_CHARS)
        stripped = text[start:end].translate(_STRIP_ZERO_WIDTH)
        yield Revealed(DETECTOR, match.start(), match.end(), stripped)


_STRIP_ZERO_WIDTH = {ord(char): None for char in _ZERO_WIDTH}


def _untag(run: str) -> str:
    return "".join(chr(ord(char) - 0xE0000) for char in run if 0x20 <= ord(char) - 0xE0000 < 0x7F)

"""Exfiltration bait: a markdown image or link whose URL is made to carry the conversation's data,
and "send/forward ... to" an address or URL with something worth stealing as the object."""

from collections.abc import Iterator

from injection.detect.result import Finding
from injection.detect.rules.patterns import compile_rule, findings

DETECTOR = "rules.exfiltration"

# A placeholder the model is meant to fill with the conversation's data: {data}, [DATA],
# <secret>, $HISTORY, %7Bsummary%7D. A bare {id} (an API route in documentation) is not one.
_DATA_WORD = (
    r"[a-z_ -]{0,20}(?:data|secret|password|history|conversation|summary|chat|context|e-?mail|token"
    r"|credential|memory|private|personal|exfil|info|message)[a-z_ -]{0,20}"
)
_PLACEHOLDER = rf"(?:\{{{_DATA_WORD}\}}|\[{_DATA_WORD}\]|<{_DATA_WORD}>|\${_DATA_WORD}|%7B{_DATA_WORD}%7D)"
_MARKDOWN_URL = r"!?\[[^\]\n]{0,120}\]\(\s*https?://[^)\s]{0,300}?"
_EXFIL_IMAGE = _MARKDOWN_URL + _PLACEHOLDER + r"[^)\s]{0,300}\)"
_EXFIL_WORDS = (
    r"!?\[[^\]\n]{0,120}\]\(\s*https?://[^)\s]{0,200}?[?&/=](?:q|data|d|secret|password|pw|token|key"
    r"|history|chat|conversation|summary|payload|exfil|leak|info|content)=[^)\s]{0,300}\)"
    r"[^\n]{0,40}?\b(?:replace|append|fill|insert|encode|base64|substitute)"
)
_RENDER_ASK = (
    r"\b(?:render|display|show|include|output|print|embed|append)\s+(?:this|the\s+following|an?)\s+"
    r"(?:markdown\s+)?(?:image|img|link|url)[^\n]{0,80}?(?:replac|fill|insert|append|encod|with\s+the)"
)
_VALUABLE = (
    r"(?:conversation|chat|history|password|passwords|credentials?|api[\s_-]?keys?|secrets?|tokens?"
    r"|system\s+prompt|messages|e-?mails|inbox|files|contacts|documents|(?:user(?:'s)?|personal|private"
    r"|customer)\s+(?:data|information|details|records)|everything|all\s+data|summary\s+of|session"
    r"|cookies?|ssh\s+keys?|wallet|seed\s+phrase)"
)
_DESTINATION = r"(?:[a-z0-9._%+-]{1,64}@[a-z0-9.-]{1,255}\.[a-z]{2,24}|https?://[^\s\"'<>]{1,300})"
_SEND_TO = (
    r"\b(?:send|forward|e-?mail|mail|post|upload|transmit|exfiltrate|leak|share|copy|submit|sync)\b"
    rf"\s+(?:[^\s]{{1,24}}\s+){{0,5}}?{_VALUABLE}\b[^\n]{{0,80}}?\b(?:to|at|into|via)\s+{_DESTINATION}"
)
_SEND_TO_ES_FR_DE = (
    r"\b(?:envía|envia|reenvía|reenvia|envoie|envoyez|transfère|transférez|sende|schicke|leite"
    r"|weiterleiten|invia|inoltra|envie)\b[^\n]{0,100}?"
    r"(?:historial|conversación|contraseñas?|historique|conversation|mots?\s+de\s+passe|verlauf"
    r"|passw(?:o|ö)rter|passwort|zugangsdaten|cronologia|password|conversa|senhas?)[^\n]{0,80}?"
    rf"{_DESTINATION}"
)

_PATTERNS = [
    (compile_rule(_EXFIL_IMAGE), 0.9),
    (compile_rule(_EXFIL_WORDS), 0.85),
    (compile_rule(_RENDER_ASK), 0.8),
    (compile_rule(_SEND_TO), 0.85),
    (compile_rule(_SEND_TO_ES_FR_DE), 0.85),
]


def find(text: str) -> Iterator[Finding]:
    return findings(_PATTERNS, text, DETECTOR)

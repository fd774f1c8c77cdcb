"""Role and delimiter spoofing: text that pretends to end the tool's output or to speak as the
system, the assistant or another turn of the conversation."""

from collections.abc import Iterator

from injection.detect.result import Finding
from injection.detect.rules.patterns import compile_rule, findings

DETECTOR = "rules.role_spoofing"

# Chat-template control tokens of the common model families: never part of ordinary text.
_CONTROL_TOKENS = (
    r"<\|(?:im_start|im_end|im_sep|system|user|assistant|endoftext|eot_id|start_header_id"
    r"|end_header_id|begin_of_text|end|tool|tool_call|function|ipython)\|>"
    r"|\[/?INST\]|<</?SYS>>|<(?:start|end)_of_turn>|<\|?(?:begin|end)▁of▁sentence\|?>"
)
# Tags that open or close the parts of an agent's prompt.
_FAKE_TAGS = (
    r"</?\s*(?:tool_result|tool_output|tool_response|function_results?|function_call|tool_call"
    r"|system|system_prompt|system_message|instructions|admin|developer|assistant|untrusted"
    r"|external_content|end_of_document|end_of_context)\s*>"
)
_FAKE_MARKERS = (
    r"\b(?:end|end\s+of)\s+(?:the\s+)?(?:tool\s+)?(?:output|result|document|context|data|input|email"
    r"|message)\s*(?:\]|>|-{2,}|={2,}|\*{2,}|#{2,})"
    r"|\[\s*(?:system|admin|administrator|developer|assistant)\s+(?:message|note|override|instruction"
    r"|prompt|update)s?\s*\]"
    r"|#{2,4}\s*(?:system|instruction|instructions|assistant)\s*(?:\(.{0,30}\))?\s*:"
    r"|<\s*end\s+of\s+session\s*>"
)
# A line that speaks as the system or the assistant and addresses the reader: a log line or a
# form field may start with "System:", but does not go on to tell someone what to do.
_ROLE_LINE_ADDRESSED = (
    r"(?m)^[ \t>*_#]{0,6}(?:system|assistant|developer)\s*:[^\n]{0,80}?\b(?:you|your|assistant"
    r"|ignore|must|instructions?|user)\b"
)

_PATTERNS = [
    (compile_rule(_CONTROL_TOKENS), 0.95),
    (compile_rule(_FAKE_TAGS), 0.85),
    (compile_rule(_FAKE_MARKERS), 0.8),
    (compile_rule(_ROLE_LINE_ADDRESSED), 0.8),
]


def find(text: str) -> Iterator[Finding]:
    return findings(_PATTERNS, text, DETECTOR)

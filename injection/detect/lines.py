"""The offline scanner's line protocol: one JSON object in, one JSON line out, a bad line answered
with an error line rather than ending the run. The management command is a thin shell over it."""

import json
from collections.abc import Iterable, Iterator

from injection.detect.scanner import scan

# A line longer than this is answered with an error, unread: scan() itself scans 1,000,000
# characters, and JSON escapes can make a line several times its text.
MAX_LINE_CHARS = 8_000_000
MAX_TOOL_CHARS = 200


def scan_lines(lines: Iterable[str]) -> Iterator[str]:
    """One answer per non-blank line; errors name the line's number in the input."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield json.dumps(_answer(line, number), ensure_ascii=False)


def _answer(line: str, number: int) -> dict[str, object]:
    if len(line) > MAX_LINE_CHARS:
        return {"error": f"line {number}: longer than {MAX_LINE_CHARS} characters", "line": number}
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"error": f"line {number}: not JSON ({exc.msg})", "line": number}
    except RecursionError:
        return {"error": f"line {number}: nested too deeply", "line": number}
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        return {"error": f'line {number}: expected an object with a string "text"', "line": number}
    tool = item.get("tool")
    if tool is not None and (not isinstance(tool, str) or len(tool) > MAX_TOOL_CHARS):
        return {
            "error": f'line {number}: "tool" must be a string of at most {MAX_TOOL_CHARS} characters',
            "line": number,
        }
    result = scan(item["text"], tool=tool)
    return {"score": round(result.score, 4), "flagged": result.flagged, "detectors": result.detectors}

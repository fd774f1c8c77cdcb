"""The condition evaluator's child process: one JSON request a line in, one JSON answer a line out.

Run as a script (`python -I sandbox_child.py`), it imports neither Django nor the project, so it
starts in ~50 ms and holds no connection or secret. Its parent (sandbox.py) kills it when an
evaluation overruns; a memory limit stops a condition that builds huge lists.

Request: {"source": str, "facts": {"args": ..., "tool": str, "agent": str}}
Answer: {"value": bool} | {"type": "<name of a non-boolean result>"} | {"error": str}
"""

import importlib.machinery
import importlib.util
import json
import resource
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

MEMORY_LIMIT_BYTES = 1024 * 1024 * 1024
MAX_PROGRAMS = 512
READY = b'{"ready": true}\n'


def _load_cel() -> ModuleType:
    """The library's compiled core alone: `import cel` also imports its command-line tool
    (prompt_toolkit, typer), which costs ~0.4 s at every start."""
    spec = importlib.util.find_spec("cel")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the cel package (common-expression-language) is not installed")
    [library] = sorted(Path(next(iter(spec.submodule_search_locations))).glob("cel.*.so"))
    loader = importlib.machinery.ExtensionFileLoader("cel.cel", str(library))
    module = importlib.util.module_from_spec(
        importlib.machinery.ModuleSpec("cel.cel", loader, origin=str(library))
    )
    loader.exec_module(module)
    return module


def answer(cel: ModuleType, programs: dict[str, Any], line: bytes) -> dict[str, Any]:
    try:
        request = json.loads(line)
        source = request["source"]
        program = programs.get(source)
        if program is None:
            if len(programs) >= MAX_PROGRAMS:
                programs.clear()
            program = programs[source] = cel.compile(source)
        value = program.execute(request["facts"])
    except Exception as exc:  # whatever the library raises is the condition's error, sent back
        return {"error": f"{type(exc).__name__}: {exc}"}
    if isinstance(value, bool):
        return {"value": value}
    return {"type": type(value).__name__}


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    cel = _load_cel()
    programs: dict[str, Any] = {}
    out = sys.stdout.buffer
    out.write(READY)
    out.flush()
    for line in sys.stdin.buffer:
        out.write(json.dumps(answer(cel, programs, line)).encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    main()

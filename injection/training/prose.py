"""Real English prose for the benign carriers: sentences of the CPython standard library's
docstrings (PSF License 2.0), read from the running interpreter's own library; and for extra
benign training windows, sentences of Django's docstrings (BSD-3-Clause), read from the installed
package.

The generated carriers' sentence bank is small; a classifier trained on it alone learns that any
prose it has not seen is suspect. Docstrings are varied, grammatical, and full of imperatives
("Return the...", "Ignore errors...") that are not injections.
"""

import ast
import re
import sysconfig
from pathlib import Path

import django

# Packages of tests, demos and vendored code: not prose, or not the standard library's.
_SKIPPED = {"test", "tests", "idlelib", "lib2to3", "turtledemo", "ensurepip", "site-packages", "pydoc_data"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_PROSE = re.compile(r"^[A-Z][A-Za-z0-9 ,;:'()\-./%]{30,300}[.!?]$")
MAX_SENTENCES = 30_000


def stdlib_sentences() -> list[str]:
    """Sentences of the standard library's docstrings, deduplicated, in a stable order."""
    return _docstring_sentences(Path(sysconfig.get_paths()["stdlib"]))


def django_sentences() -> list[str]:
    """Sentences of Django's docstrings, deduplicated, in a stable order."""
    return _docstring_sentences(Path(django.__file__).resolve().parent)


def _docstring_sentences(root: Path) -> list[str]:
    found: set[str] = set()
    for path in sorted(root.rglob("*.py")):
        if _SKIPPED & set(path.relative_to(root).parts):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                found.update(_sentences(ast.get_docstring(node) or ""))
    return sorted(found)[:MAX_SENTENCES]


def _sentences(docstring: str) -> list[str]:
    kept = []
    for paragraph in docstring.split("\n\n"):
        if ">>>" in paragraph or "::" in paragraph:
            continue
        for sentence in _SENTENCE_END.split(" ".join(paragraph.split())):
            if _PROSE.match(sentence):
                kept.append(sentence)
    return kept

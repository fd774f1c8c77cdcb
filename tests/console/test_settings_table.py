"""The README's settings table lists every environment variable the code reads, and no other."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Reads through console.env's helpers, os.environ.get / [...] on the right-hand side, os.getenv.
READS = re.compile(
    r"""(?:env_(?:str|int|float|decimal|bool|list)\(\s*|os\.environ\.get\(\s*|os\.getenv\(\s*)"""
    r"""["']([A-Z][A-Z0-9_]+)["']"""
    r"""|os\.environ\[["']([A-Z][A-Z0-9_]+)["']\](?!\s*=[^=])"""
)
# Not settings of Tollgate: the settings module's own switch, and the test runner's database name.
NOT_SETTINGS = {"DJANGO_SETTINGS_MODULE", "TEST_DB_NAME"}
SOURCE_DIRS = ("agents", "approvals", "console", "core", "injection", "simulator", "tracing")


def variables_read() -> set[str]:
    names: set[str] = set()
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "test.py" and path.parent.name == "settings":
                continue  # the test settings' own defaults
            names |= {call or subscript for call, subscript in READS.findall(path.read_text())}
    return names - NOT_SETTINGS


def variables_documented() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| variable | default | what |") :]
    table = table[: table.index("\n\n")]
    first_cells = [line.split("|")[1] for line in table.splitlines()[2:]]
    return {name for cell in first_cells for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}


def test_the_readme_table_lists_exactly_the_variables_the_code_reads():
    read, documented = variables_read(), variables_documented()

    assert read - documented == set(), "read by the code but not in README's settings table"
    assert documented - read == set(), "in README's settings table but read nowhere"


def test_the_scan_finds_reads_of_every_form():
    sample = 'env_int("A_ONE", 1)\nos.environ.get("B_TWO")\nos.getenv("C_THREE")\nx = os.environ["D_FOUR"]\n'
    assignment = 'os.environ["E_FIVE"] = "x"\n'

    assert {a or b for a, b in READS.findall(sample)} == {"A_ONE", "B_TWO", "C_THREE", "D_FOUR"}
    assert READS.findall(assignment) == []

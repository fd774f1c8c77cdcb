"""CI runs what the README says (`make test`), and that runs lint and the suite with CI=true."""

import os
import re
import subprocess

from tests.support.processes import ROOT


def test_ci_runs_the_readme_test_command_with_ci_set():
    script = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^CI=true make test$", script, re.MULTILINE), script
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"^make test\s+#", readme, re.MULTILINE)


def test_make_test_runs_ruff_format_check_mypy_then_pytest():
    # -n prints the commands without running them.
    dry = subprocess.run(
        ["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True, env=os.environ
    ).stdout
    order = [
        dry.index("ruff check ."),
        dry.index("ruff format --check ."),
        dry.index("mypy ."),
        dry.index("-m pytest"),
    ]
    assert order == sorted(order), dry

"""docs/api.md's walkthrough, run as written: curl against a live web server, a Celery worker
and the simulator, from a token to a finished task whose refund a reviewer approved."""

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group, User

from approvals.models import ActionRequest, AuditEntry
from tests.support.processes import ROOT, child_env, running_web, running_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def walkthrough_script() -> str:
    text = (ROOT / "docs" / "api.md").read_text()
    section = re.search(r"<!-- walkthrough -->(.*)<!-- /walkthrough -->", text, re.S)
    assert section is not None, "docs/api.md lost its walkthrough markers"
    blocks = re.findall(r"```sh\n(.*?)```", section.group(1), re.S)
    assert len(blocks) >= 5
    return "set -euo pipefail\n" + "\n".join(blocks)


@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq")), reason="the walkthrough uses curl and jq"
)
def test_the_walkthrough_runs_as_written(use_simulator, tmp_path: Path):
    User.objects.create_user("admin", is_staff=True, is_superuser=True)
    User.objects.create_user("reviewer").groups.add(Group.objects.get_or_create(name="reviewers")[0])
    sim = urlsplit(use_simulator)
    # As `manage.py up` does for the demo: HTTP tools may reach the local simulator.
    egress = {"TOOL_EGRESS_ALLOW": f"{sim.hostname}:{sim.port}", "SIMULATOR_URL": use_simulator}

    with running_web(tmp_path, **egress) as web, running_worker(tmp_path, **egress):
        done = subprocess.run(
            ["bash", "-c", walkthrough_script()],
            cwd=ROOT,
            env=child_env(TOLLGATE=web, SIM=use_simulator),
            capture_output=True,
            text=True,
            timeout=240,
        )

    assert done.returncode == 0, done.stdout + done.stderr
    request = ActionRequest.objects.get(tool_name="issue_refund")
    assert request.status == ActionRequest.Status.EXECUTED
    assert request.decided_by.username == "reviewer"
    assert request.result["data"]["refund_id"].startswith("re_")
    assert request.task.status == "succeeded"
    assert "Done: I refunded 49.99 USD for order A-1001" in request.task.result
    assert AuditEntry.objects.filter(action__startswith="agent.created").count() == 1
    assert '"status":"succeeded"' in done.stdout

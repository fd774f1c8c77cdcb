"""A playback may name the policy version its recorded calls are decided under (a replay's)."""

import pytest

from agents.models import Task
from agents.runtime.playback import playback_of, playback_validate
from core.errors import Invalid


@pytest.mark.parametrize("version", [-1, 2**31, True, "3", 1.5])
def test_a_policy_version_that_is_no_version_number_is_refused(version):
    with pytest.raises(Invalid) as refused:
        playback_validate({"tool_results": [], "policy_version": version})
    assert refused.value.field == "playback.policy_version"


def test_the_named_version_is_read_back():
    data = playback_validate({"tool_results": [], "policy_version": 4})
    assert playback_of(Task(playback=data)).policy_version == 4
    assert playback_of(Task(playback={"tool_results": []})).policy_version is None

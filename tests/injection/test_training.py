"""The training loss's weights: each class half, and each payload family an equal part of its half."""

import numpy as np
import pytest

from injection.training.train import class_weights


def test_each_payload_family_weighs_the_same_however_many_windows_it_has():
    families = ["benign"] * 4 + ["long.jailbreak"] * 6 + ["short.instruction"] * 2
    target = np.array([0.0] * 4 + [1.0] * 8)

    weight = class_weights(families, target)

    assert weight[:4].sum() == pytest.approx(0.5)
    assert weight[4:10].sum() == pytest.approx(0.25)
    assert weight[10:].sum() == pytest.approx(0.25)
    # A window of the family with fewer windows counts for more.
    assert weight[10] == pytest.approx(3 * weight[4])

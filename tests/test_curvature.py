"""Logistic runs in a sweep, and the sharpness along their paths (the curvature experiment, quick mode)."""

import json

import numpy as np
import pytest

from experiments import curvature


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("curvature")
    return out, curvature.run(out, quick=True)


def test_writes_its_figure_and_numbers(quick):
    out, numbers = quick
    assert json.loads((out / "curvature.json").read_text()) == numbers
    assert (out / "curvature.png").stat().st_size > 10_000


def test_sharpness_falls_from_its_start_value_to_the_optimums(quick):
    _, n = quick
    assert n["L_optimum"] < n["L_start"]
    np.testing.assert_allclose(n["sharpness_start"], n["L_start"], rtol=1e-6)
    for converged, end in zip(n["converged"], n["sharpness_end"]):
        if converged:
            np.testing.assert_allclose(end, n["L_optimum"], rtol=1e-6)


def test_stability_is_decided_by_the_curvature_where_the_path_ends(quick):
    _, n = quick
    for c, step, converged in zip(n["steps_over_edge_at_start"], n["steps"], n["converged"]):
        assert converged == (step < 2 / n["L_optimum"]), c
    # 1.1 * 2/L_start is above the edge at a = 0 yet converges: unstable at the start, stable later.
    assert n["unstable_at_start_stable_later"] == [False, True, False, False]

"""The entropy research case end to end in quick mode: files, numbers, and the extrapolation argument (issue 6)."""

import json

import matplotlib.image
import numpy as np
import pytest

from experiments import entropy
from lab import atoms

BOUND = 1.0  # k_B: bound on the two-body model's quick-mode test error (measured 0.14; bootstrap 10-90 %: 0.16-0.86)
LOOSE = 3.0  # k_B: the 48-feature series depends on the draw (measured 1.34; bootstrap 10-90 %: 0.26-2.08)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    return out, entropy.reproduce(out, quick=True)


def test_writes_its_figures_and_numbers(quick):
    out, numbers = quick
    for key in ("parity", "error", "cost", "finite_size", "interstitials"):
        assert matplotlib.image.imread(out / f"entropy_{key}.png").shape[0] > 300
    results = {name: value for name, value in numbers.items() if name != "timings"}
    assert json.loads((out / "entropy.json").read_text()) == json.loads(json.dumps(results))
    assert json.loads((out / "entropy_timings.json").read_text()) == json.loads(json.dumps(numbers["timings"]))
    assert "seconds" not in (out / "entropy.json").read_text()
    assert numbers["synthetic_analogue"] is True and numbers["rejected"] == []


def test_extensive_models_extrapolate_and_the_controls_do_not(quick):
    _, numbers = quick
    models = numbers["models"]
    radial, series = models["radial only"], models["AFS (radial + angular)"]
    assert numbers["test"]["entropy_range"][1] > 5 * numbers["train"]["entropy_range"][1]
    assert radial["train_mae"] < 0.1 and radial["test_mae"] < BOUND
    assert series["test_mae"] < LOOSE
    assert models[entropy.K_S1]["test_mae"] > 5 * LOOSE
    assert models["per-atom average (not extensive)"]["test_mae"] > 5 * BOUND
    assert models["per-atom average (not extensive)"]["test_mae_resampled"]["p10"] > 5 * BOUND


def test_finite_size_trend_and_cost_are_reported(quick):
    _, numbers = quick
    values = list(numbers["monovacancy_entropy_by_atoms"].values())
    assert len(values) == 3 and all(1.5 < v < 2.0 for v in values)
    assert numbers["s_1"] == values[-1]
    # the same cluster: S_f grows towards its dilute value
    for k, by_sites in numbers["cluster_entropy_by_sites"].items():
        entropies = [by_sites[n] for n in sorted(by_sites, key=int)]
        assert all(a < b for a, b in zip(entropies, entropies[1:])), (k, entropies)
        fit = numbers["finite_size_fits"][k]  # S_f/k = dilute + slope/N: below its dilute limit in every cell
        assert fit["slope"] < 0 and fit["dilute"] > entropies[-1] / int(k)
    timings = numbers["timings"]
    assert set(timings["cost_slopes"]) == {*atoms.STAGES, "exact"}
    cost = timings["cost_seconds"]  # the exact entropy's total is the sum of its stages, and its ratio to the model's
    np.testing.assert_allclose(cost["exact"], np.sum([cost[s] for s in atoms.EXACT_STAGES], axis=0), rtol=1e-15)
    assert timings["exact_over_descriptor_at_largest"] == cost["exact"][-1] / cost["descriptor"][-1]


def test_interstitials_are_reported_as_the_harder_case(quick):
    _, numbers = quick
    harder = numbers["with_interstitials"]
    assert harder["interstitials_train"]["sizes"] == [1, 2] and harder["interstitials_test"]["sizes"] == [5]
    found = harder["interstitials_train"]["configurations"] + harder["interstitials_test"]["configurations"]
    assert found + len(harder["rejected"]) == 6  # every configuration of the plan is used or reported
    assert all(isinstance(message, str) and "(interstitial): " in message for message in harder["rejected"])
    assert 1.0 < harder["s_1_interstitial"] < 4.0
    assert set(harder["models"]) == {"AFS (radial + angular)", "radial only", entropy.K_S1_EACH}

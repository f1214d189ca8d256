"""The entropy research case end to end in quick mode: files, numbers, and the extrapolation argument (issue 6)."""

import json

import matplotlib.image
import pytest

from experiments import entropy

BOUND = 0.6  # k_B: bound on the extensive models' quick-mode test error (measured 0.23 and 0.36; below 0.45 for any penalty up to 3e-4)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    return out, entropy.run(out, quick=True)


def test_writes_its_figures_and_numbers(quick):
    out, numbers = quick
    for key in ("parity", "error", "cost", "monovacancy"):
        assert matplotlib.image.imread(out / f"entropy_{key}.png").shape[0] > 300
    assert json.loads((out / "entropy.json").read_text()) == json.loads(json.dumps(numbers))
    assert numbers["synthetic_analogue"] is True and numbers["rejected"] == []


def test_extensive_model_extrapolates_and_the_controls_do_not(quick):
    _, numbers = quick
    models = numbers["models"]
    extensive = models["AFS (radial + angular)"]
    assert numbers["test"]["entropy_range"][1] > 5 * numbers["train"]["entropy_range"][1]
    assert extensive["train_mae"] < 0.1 and extensive["test_mae"] < BOUND
    assert models["radial only"]["test_mae"] < BOUND
    assert models[entropy.K_S1]["test_mae"] > 2 * extensive["test_mae"]
    assert models["per-atom average (not extensive)"]["test_mae"] > 10 * BOUND


def test_monovacancy_and_cost_are_reported(quick):
    _, numbers = quick
    values = list(numbers["monovacancy_entropy_by_atoms"].values())
    assert len(values) == 3 and all(1.5 < v < 2.0 for v in values)
    assert numbers["s_1"] == values[-1]
    assert set(numbers["cost_slopes"]) == set(entropy.STAGES)

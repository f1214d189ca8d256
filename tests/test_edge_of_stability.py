"""The edge of stability on a tanh network: the sharpness by power iteration against the full Hessian, and the
experiment in quick mode (progressive sharpening, eta x sharpness / 2 about 1 after the crossing)."""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import edge_of_stability as experiment
from lab import spectrum

ROOT = Path(__file__).parent.parent


def test_power_iteration_finds_the_top_eigenvalue_of_a_small_networks_hessian(monkeypatch):
    monkeypatch.setattr(experiment, "WIDTHS", (4, 4, 10))  # the experiment's network, narrow: P = 86
    key = jax.random.key(1)
    X = jax.random.normal(key, (20, 3))
    data = experiment.Digits(X, jax.nn.one_hot(jnp.arange(20) % 10, 10))
    params = experiment.initial_parameters(jax.random.key(2), 3, jnp.float64)
    eigenvalues = np.linalg.eigvalsh(np.asarray(spectrum.hessian(experiment.mean_squared_error, params, data)))
    top = eigenvalues[np.argmax(np.abs(eigenvalues))]
    value, vector = spectrum.power_iteration(experiment.mean_squared_error, params, data, jnp.ones_like(params), 300)
    assert float(value) == pytest.approx(top, rel=1e-8) and top == eigenvalues[-1]
    assert float(jnp.linalg.norm(vector)) == pytest.approx(1.0, rel=1e-12)
    again, _ = spectrum.power_iteration(experiment.mean_squared_error, params, data, vector, 5)  # warm start
    assert float(again) == pytest.approx(top, rel=1e-8)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("eos")
    return out, experiment.reproduce(out, quick=True)


def test_writes_its_figure_and_numbers(quick):
    out, numbers = quick
    assert (out / "edge_of_stability.png").stat().st_size > 10_000
    assert (out / "edge_of_stability_adam.png").stat().st_size > 10_000
    assert json.loads((out / "edge_of_stability.json").read_text()) == numbers


def test_sharpness_rises_to_two_over_eta_and_stays_there(quick):
    _, numbers = quick
    assert numbers["progressive_sharpening"] >= 2.0
    rates = numbers["per_learning_rate"]
    smallest = rates[f"{min(numbers['learning_rates']):g}"]
    assert smallest["first_crossing"] == -1 and smallest["final_sharpness"] < smallest["edge"]
    crossed = [r for r in rates.values() if r["first_crossing"] >= 0]
    assert len(crossed) == len(rates) - 1
    for r in crossed:
        assert 0.97 <= r["median_sharpness_ratio_after_crossing"] <= 1.07
        assert r["loss_halves"][1] < r["loss_halves"][0] and r["loss_increases"] > 0  # falls, not monotonically


def test_adams_preconditioned_sharpness_rises_to_38_over_eta_and_stays_there(quick):
    _, numbers = quick
    assert (numbers["adam"]["b1"], numbers["adam"]["b2"]) == (0.9, 0.999)
    for eta, r in numbers["adam"]["per_learning_rate"].items():
        assert r["edge"] == pytest.approx(38 / float(eta))
        assert r["first_crossing"] > 0 and 0.90 <= r["median_sharpness_ratio_after_crossing"] <= 1.10


def test_the_readme_states_the_numbers_of_figures_edge_of_stability_json():
    numbers = json.loads((ROOT / "figures" / "edge_of_stability.json").read_text())
    section = (ROOT / "README.md").read_text().split("**`lab run edge_of_stability`**", 1)[1].split("\n## ", 1)[0]
    text = " ".join(section.split())
    assert f"grows {numbers['progressive_sharpening']:.1f}-fold" in text
    ratios = [r["median_sharpness_ratio_after_crossing"] for r in numbers["per_learning_rate"].values()
              if r["first_crossing"] >= 0]
    assert f"between {min(ratios):.3f} and {max(ratios):.3f}" in text
    assert f"{len(ratios)} of the {len(numbers['learning_rates'])} learning rates" in text
    adam = [r["median_sharpness_ratio_after_crossing"] for r in numbers["adam"]["per_learning_rate"].values()]
    assert None not in adam and f"all {len(adam)} of Adam's" in text
    assert f"between {min(adam):.2f} and {max(adam):.2f}" in text

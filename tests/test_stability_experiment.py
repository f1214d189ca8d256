"""The stability experiment in quick mode, and the plotting functions on a tiny sweep."""

import json

import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure

from experiments import stability as experiment
from lab import plots, runs, sweep

FIGURES = ("stability_map.png", "stability_iterations.png", "stability_convergence.png")
KEYS = {"N", "D", "num_steps", "tolerance", "seed", "seeds", "dtype", "learning_rates_over_edge", "kappas", "per_kappa",
        "max_edge_relative_error", "max_best_relative_error", "max_rate_relative_error", "runs", "diverged_runs",
        "diverged_below_edge", "not_diverged_above_edge", "curves"}
PER_KAPPA = {"kappa", "edge_learning_rate", "theory_edge_learning_rate", "edge_relative_error", "best_learning_rate",
             "theory_best_learning_rate", "best_relative_error", "best_rate", "theory_rate", "bracketed",
             "diverged_runs", "smallest_diverged_learning_rate"}


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    return out, experiment.reproduce(out, quick=True)


def test_writes_three_images_and_its_numbers(quick):
    out, summary = quick
    for name in FIGURES:
        assert (out / name).stat().st_size > 10_000, name
        image = matplotlib.image.imread(out / name)
        assert image.ndim == 3 and min(image.shape[:2]) > 300, name
    assert json.loads((out / "stability.json").read_text()) == summary


def test_numbers_have_the_documented_keys(quick):
    _, summary = quick
    assert set(summary) == KEYS
    assert len(summary["per_kappa"]) == len(summary["kappas"]) == len(experiment.SIZES["kappas"][1])
    for entry in summary["per_kappa"]:
        assert set(entry) == PER_KAPPA
    for key in KEYS - {"dtype", "per_kappa", "curves", "learning_rates_over_edge", "kappas"}:
        assert key in experiment.__doc__, key


def test_measured_edge_and_best_learning_rate_are_the_theory(quick):
    _, summary = quick
    for entry in summary["per_kappa"]:
        assert entry["bracketed"]
        assert entry["edge_learning_rate"] == pytest.approx(entry["theory_edge_learning_rate"], rel=1e-3)
        assert entry["best_learning_rate"] == pytest.approx(entry["theory_best_learning_rate"], rel=5e-3)
        assert entry["theory_edge_learning_rate"] == pytest.approx(2 / 2.0, rel=1e-9)  # problems.regression has L = 2
    # README (full run): 0.04 %, 0.4 % and 0.33 %; quick: 0.047 %, 0.24 %, 0.16 %.
    assert summary["max_edge_relative_error"] <= 1e-3 and summary["max_best_relative_error"] <= 5e-3
    assert summary["max_rate_relative_error"] <= 4e-3  # the contraction at the measured best learning rate, kappa > 1


def test_runs_diverge_above_the_edge_only(quick):
    _, summary = quick
    assert summary["diverged_runs"] > 0 and summary["diverged_below_edge"] == summary["not_diverged_above_edge"] == 0
    above = sum(c > 1 for c in summary["learning_rates_over_edge"]) * len(summary["kappas"]) * len(summary["seeds"])
    assert summary["diverged_runs"] == above  # every run above the edge, and no other (the counts read 0 and 8500
    # before: a loop variable had replaced the grid's learning rates by the last curve's, 1.05)
    for entry in summary["per_kappa"]:
        assert entry["smallest_diverged_learning_rate"] > 1.0
    below, just_below, at, above = summary["curves"]
    assert not below["diverged"] and not just_below["diverged"] and not at["diverged"]
    assert above["diverged"] and above["diverged_at"] > 0
    assert at["iterations"] == -1 and just_below["iterations"] < below["iterations"]
    for curve in summary["curves"]:
        assert curve["max_relative_deviation_from_prediction"] <= 1e-8


# The plotting functions on a small sweep with diverged runs and an extra (seed) axis. Its run and axis
# shapes are the quick experiment's, so after it the sweep is already compiled; the seed differs.

@pytest.fixture(scope="module")
def tiny():
    run = runs.LinearRegressionRun(n=experiment.N, d=experiment.D, num_steps=experiment.SIZES["num_steps"][1])
    axes = {"learning_rate_over_edge": experiment.SIZES["learning_rates_over_edge"][1],
            "kappa": experiment.SIZES["kappas"][1], "seed": np.array([1])}
    grid = sweep.sweep(run, axes, progress=False)
    assert grid["diverged"].any() and not grid["diverged"].all()
    return grid


def test_stability_map(tiny):
    fig = plots.stability_map(tiny)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "learning rate / (2/L)" and ax.get_ylabel() == "condition number κ"
    assert ax.get_yscale() == "log" and "seed = 1" in ax.get_title()
    assert ax.get_title().startswith(f"Stability map of gradient descent\n(least squares, N = {experiment.N}, "
                                     f"D = {experiment.D}, T = ")
    assert "diverged" in " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert "log₁₀" in fig.axes[1].get_ylabel()  # the colourbar
    fig.savefig(__import__("io").BytesIO(), format="png")  # draws without error


def test_stability_map_on_given_axes(tiny):
    fig = Figure()
    ax = fig.add_subplot()
    assert plots.stability_map(tiny, ax, at={"seed": 1}) is fig
    assert "seed = 1" in ax.get_title() and len(fig.axes) == 2  # the map and its colourbar


def test_iterations_vs_learning_rate(tiny):
    fig = plots.iterations_vs_learning_rate(tiny, kappas=[1.0, 1000.0])
    ax = fig.axes[0]
    assert ax.get_xlabel() == "learning rate / (2/L)" and ax.get_ylabel().startswith(
        "iterations t to f(a_t) − f* ≤ 1e-06")
    assert ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["κ = 1", "κ = 1000 (never within the run)"] and any("2/(L+μ)" in s for s in labels)


def test_convergence_curves_with_a_diverged_run(tiny):
    select = [{"learning_rate_over_edge": 0.5}, {"learning_rate_over_edge": 1.0}, {"learning_rate_over_edge": 1.2}]
    fig = plots.convergence_curves(tiny, select=select, at={"kappa": 10.0}, predicted="bound", floor=1e-18)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "iteration t" and ax.get_ylabel() == "f(a_t) − f*" and ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "learning rate 0.5·2/L (below the edge), κ = 10" and "at the edge" in labels[1]
    assert "divergence detected (run stopped)" in labels and "kappa = 10, seed = 1" in ax.get_title()


@pytest.mark.parametrize("call, match", [
    (lambda r: plots.stability_map(sweep.Results({"kappa": r.axes["kappa"]}, {}, {})), "needs one step-size axis"),
    (lambda r: plots.stability_map(sweep.Results({"learning_rate_over_edge": r.axes["learning_rate_over_edge"]},
                                                 {}, {})), "needs the outputs"),
    (lambda r: plots.stability_map(r, at={"kappa": 10.0}), "axes not drawn"),
    (lambda r: plots.convergence_curves(r, select=[]), "at least one run"),
    (lambda r: plots.convergence_curves(r, select=[{"lr": 0.1}]), "unknown axes"),
])
def test_bad_arguments_are_refused_by_name(tiny, call, match):
    with pytest.raises(ValueError, match=match):
        call(tiny)


def test_the_rate_map_colours_each_run_by_its_steps_per_decade_as_theory_predicts(tiny):
    """colour='rate': on a quadratic, gradient descent contracts by max(|1 - 2c|, |1 - 2c/kappa|) per step at
    step c * 2/L, so the kappa = 1 row is -1 / log10|1 - 2c|: fastest (0 steps, drawn as 1) at c = 1/2."""
    fig = plots.stability_map(tiny, colour="rate")
    assert "steps per decade" in fig.axes[1].get_ylabel()
    drawn = np.ma.filled(fig.axes[0].collections[0].get_array(), np.nan)[::2]  # each row, then a gap to the next
    c = np.sort(tiny.axes["learning_rate_over_edge"])
    row = drawn[np.argmin(tiny.axes["kappa"])]
    theory = np.clip(plots.steps_per_decade(np.abs(1 - 2 * c)), 1.0, None)
    stable = (c < 0.99) & (np.abs(c - 0.5) > 0.01)
    np.testing.assert_allclose(row[stable], theory[stable], rtol=1e-3)
    with pytest.raises(ValueError, match="colour must be 'gap' or 'rate'"):
        plots.stability_map(tiny, colour="speed")

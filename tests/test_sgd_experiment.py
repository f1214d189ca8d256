"""The sgd experiment in quick mode: exact edges against batch size, ensembles against rho, the median run."""

import json
import re

import numpy as np
import pytest

from experiments import sgd


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("sgd")
    return out, sgd.reproduce(out, quick=True)


def test_writes_its_figure_and_numbers(quick):
    out, numbers = quick
    assert (out / "sgd.png").stat().st_size > 10_000
    assert json.loads((out / "sgd.json").read_text()) == numbers


def test_exact_edges_rise_with_the_batch_to_two_over_L(quick):
    _, numbers = quick
    n, two_over_L = numbers["num_samples"], numbers["two_over_L"]
    assert (n, numbers["num_params"]) == (442, 11)
    for mode, edges in numbers["exact_edge"].items():
        assert list(edges) == [*map(str, sgd.TABLE), str(n)]
        values = np.array(list(edges.values()))
        assert np.all(np.diff(values) > 0) and values[0] < 0.3 * two_over_L, mode
    without, with_ = numbers["exact_edge"]["without_replacement"], numbers["exact_edge"]["with_replacement"]
    assert without[str(n)] == pytest.approx(two_over_L, rel=1e-12)  # every row once: gradient descent
    assert with_[str(n)] < without[str(n)] and with_["1"] == pytest.approx(without["1"], rel=1e-12)  # one row: same
    assert 5 < numbers["batch_size_at_90_percent"]["with_replacement"] < 50


def test_ensembles_contract_by_rho_below_the_edge_and_grow_above(quick):
    _, numbers = quick
    ensemble = numbers["ensemble"]
    assert ensemble["max_relative_deviation_below"] <= 1e-4  # README: 4.3e-5; quick 3e-5
    for b, found in ensemble["below_edge"].items():
        assert found["measured"] == pytest.approx(found["rho"], rel=1e-4), b
    assert all(growth > 1 for growth in ensemble["mean_growth_above"].values())
    assert all(rho > 1 for rho in ensemble["rho_above"].values())
    assert ensemble["median_growth_above"]["1"] < 1  # one row per step: the typical run converges, the mean does not


def test_on_a_synthetic_problem_too(quick):
    _, numbers = quick
    synthetic = numbers["synthetic"]
    assert synthetic["max_relative_deviation_below"] <= 4e-4 and synthetic["num_params"] == synthetic["d"] + 1
    draws = numbers["synthetic_draws"]  # the same contraction on other draws of the problem
    assert draws["count"] == sgd.SIZES["synthetic_draws"][1] and draws["max_relative_deviation_below"] <= 4e-4
    for b, growth in synthetic["mean_growth_above_5_steps"].items():  # the first steps, before the tail rules
        assert growth > 1 and synthetic["rho_above"][b] > 1, b


def test_the_median_run_converges_beyond_the_mean_square_edge_for_small_batches(quick):
    _, numbers = quick
    median = numbers["median_run"]
    assert median["bracketed"] and median["batch_sizes"][0] == 1
    assert median["over_exact"][0] > 1.05
    assert max(median["edge"]) < 1.1 * numbers["two_over_L"]


def test_the_readme_states_the_numbers_of_figures_sgd_json():
    from pathlib import Path

    root = Path(__file__).parent.parent
    numbers = json.loads((root / "figures" / "sgd.json").read_text())
    readme = (root / "README.md").read_text()
    section = readme.split("## Where learning rates break", 1)[1].split("**`lab run adam`**", 1)[0]
    text = " ".join(section.split())
    exact = numbers["exact_edge"]["with_replacement"]
    assert f"2/L = {numbers['two_over_L']:.4f}" in text
    assert f"ηc(1) = {exact['1']:.4f}, {100 * exact['1'] / numbers['two_over_L']:.0f} % of it" in text
    b90 = numbers["batch_size_at_90_percent"]
    assert f"B = {b90['with_replacement']} with replacement and B = {b90['without_replacement']} without" in text
    assert f"{numbers['ensemble']['seeds']} runs" in text and f"{numbers['ensemble']['num_steps']} steps" in text
    ensemble = numbers["ensemble"]
    stated = float(re.search(r"per step within ([\d.e-]+) relative", text).group(1))
    assert ensemble["max_relative_deviation_below"] <= stated <= 1.1 * ensemble["max_relative_deviation_below"]
    assert f"for all {len(ensemble['below_edge'])} batch sizes" in text
    first, exact = ensemble["mean_growth_above_5_steps"], {b: r**5 for b, r in ensemble["rho_above"].items()}
    assert f"by ×{min(first.values()):.2f} to ×{max(first.values()):.1f} (exact ρ⁵:" in text
    assert f"×{min(exact.values()):.2f} to ×{max(exact.values()):.1f})" in text
    growth = min(ensemble["mean_growth_above"].values())
    assert growth > 1 and f"by at least ×{np.floor(growth * 10) / 10:.1f}" in text
    assert (f"at B = 2 it is ×{ensemble['mean_growth_above']['2']:.0f} "
            f"against ×{ensemble['rho_above']['2']**100:.1e}").replace("e+0", "e") in text
    median = numbers["median_run"]
    over = dict(zip(median["batch_sizes"], median["over_exact"]))
    assert f"{over[1]:.2f} times above ηc at B = 1" in text
    peak = max(over, key=over.get)
    assert f"up to {over[peak]:.2f} times at B = {peak}" in text
    above = [b for b, e in zip(median["batch_sizes"], median["edge"]) if e > numbers["two_over_L"]]
    assert f"for every B from {min(above)} on even above 2/L" in text
    assert above == [b for b in median["batch_sizes"] if b >= min(above)]
    excess = max(median["edge"]) / numbers["two_over_L"] - 1
    assert f"by up to {100 * excess:.1f} %" in text
    assert f"{median['seeds']} seeds, {median['num_steps']} steps" in text
    synthetic = numbers["synthetic"]
    stated = float(re.search(r"contract by ρ within ([\d.e-]+) at", text).group(1))
    assert synthetic["max_relative_deviation_below"] <= stated <= 1.1 * synthetic["max_relative_deviation_below"]
    first = synthetic["mean_growth_above_5_steps"].values()
    assert f"(×{min(first):.1f} to ×{max(first):.1f})" in text
    fallen = [b for b, growth in synthetic["mean_growth_above"].items() if growth < 1]
    assert fallen == ["1", "8"] and "at B = 1 and 8: 4096 runs no longer hold" in text


def test_the_ensembles_draw_the_seeds_they_are_given():
    """`lab run sgd --seed 1` wrote seed 0's ensembles (they drew np.arange(count)); a probe's finding."""
    from experiments import interpolating_diabetes

    data, optimum = interpolating_diabetes("float64")
    first, again, other = (sgd.ensemble(data, optimum, 4, np.asarray(seeds), 5) for seeds in ([0, 1], [0, 1], [1, 2]))
    np.testing.assert_array_equal(first["mean"], again["mean"])
    assert not np.allclose(first["mean"], other["mean"])

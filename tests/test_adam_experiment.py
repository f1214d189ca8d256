"""The adam experiment in quick mode, and the README's numbers against figures/adam.json."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from experiments import adam as experiment

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("adam")
    return out, experiment.reproduce(out, quick=True)


def test_writes_its_figure_and_numbers(quick):
    out, numbers = quick
    assert (out / "adam.png").stat().st_size > 10_000
    assert json.loads((out / "adam.json").read_text()) == numbers


def test_the_measured_edge_is_the_formula_and_bias_correction_lowers_it(quick):
    _, numbers = quick
    assert numbers["max_relative_deviation"] <= 1e-3
    betas, ratios = np.array(numbers["betas"]), np.array(numbers["bias_corrected_over_formula"])
    assert ratios[betas == 0.0] == pytest.approx(1.0, abs=1e-3)  # no momentum: nothing to correct
    assert np.all(ratios[betas >= 0.9] < 0.5)
    transient = numbers["transient"]
    assert transient["peak_growth"] == pytest.approx(1.0) and transient["peak_growth_bias_corrected"] > 1e10


def test_the_readme_states_the_numbers_of_figures_adam_json():
    numbers = json.loads((ROOT / "figures" / "adam.json").read_text())
    section = (ROOT / "README.md").read_text().split("**`lab run adam`**", 1)[1].split("\n## ", 1)[0]
    text = " ".join(section.split())
    stated = float(re.search(r"sits on that formula within ([\d.e-]+) for", text).group(1))
    assert numbers["max_relative_deviation"] <= stated <= 1.1 * numbers["max_relative_deviation"]
    ratios = dict(zip(numbers["betas"], numbers["bias_corrected_over_formula"]))
    assert f"{100 * ratios[0.9]:.0f} % of the formula's edge at β₁ = 0.9" in text
    assert f"{100 * ratios[0.98]:.0f} % at 0.98" in text
    peak = numbers["transient"]["peak_growth_bias_corrected"]
    assert f"by a factor of {peak:.0e}".replace("e+", "e") in text

"""The README's "Your own criterion" section: its code runs as printed, its command parses, its numbers are the
JSON's."""

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from lab import cli

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
SECTION = README.split("## Your own criterion", 1)[1].split("\n## ", 1)[0]


def test_the_snippet_runs_and_measures_the_edge_at_two_over_L(tmp_path, monkeypatch, capsys):
    code = re.search(r"```python\n(.*?)```", SECTION, re.S).group(1)
    monkeypatch.chdir(tmp_path)  # the snippet runs anywhere: its data set comes with the lab
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    for name in ("huber.npz", "huber.json", "huber_edges.csv", "huber.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    ratio = np.asarray(namespace["edges"]["edge_learning_rate"] / namespace["edges"]["gd_edge_learning_rate"])
    assert ratio.shape == (3,) and np.all(np.abs(ratio - 1) <= 2e-2)
    assert "[" in capsys.readouterr().out  # the printed ratios


def test_the_command_parses():
    line = re.search(r"\n    (lab sweep .*?)\n\n", SECTION, re.S).group(1).replace("\\\n", " ")
    args = cli.parser().parse_args(shlex.split(line)[1:])
    assert args.criterion == "huber" and args.data.endswith("diabetes.csv") and args.standardize and args.csv


def test_the_numbers_are_those_of_the_experiment():
    numbers = json.loads((ROOT / "figures" / "your_criterion.json").read_text())
    ratios = np.asarray(numbers["edge_over_two_over_L"])
    assert all(numbers["bracketed"]) and len(ratios) == 16
    stated = re.search(r"every\s+measured edge within ([\d.]+) %", SECTION).group(1)
    assert float(stated) == pytest.approx(100 * numbers["max_relative_deviation"], abs=0.05)
    within, total = re.search(r"\((\d+) of (\d+) within 0.2 %", SECTION).groups()
    assert (int(within), int(total)) == (int(np.sum(np.abs(ratios - 1) <= 2e-3)), len(ratios))
    low, high = re.search(r"2/L, which ranges over ([\d.]+)–([\d.]+)", SECTION).groups()
    assert [float(low), float(high)] == pytest.approx(numbers["two_over_L_range"], abs=0.005)
    assert max(numbers["reference_gradient_norm"]) <= float(re.search(r"gradient norm at most ([\d.e-]+\d)",
                                                                      SECTION).group(1))
    kappa, worst = np.asarray(numbers["condition_number"]), int(np.argmin(ratios))
    low, stated = re.search(r"the one at ([\d.]+) % low has κ ≈ ([\d,]+), the largest but\s+one", SECTION).groups()
    assert float(low) == pytest.approx(100 * (1 - ratios[worst]), abs=0.05)
    assert kappa[worst] == pytest.approx(float(stated.replace(",", "")), rel=0.05) and np.sum(kappa > kappa[worst]) == 1


def test_curvatures_one_run_near_its_edge_is_as_the_readme_says():
    sets = json.loads((ROOT / "figures" / "curvature.json").read_text())["data_sets"]
    assert re.search(r"the one run\s+closer \(just below its edge\) had not yet reached the tolerance", README)
    assert sets["runs_within_1_percent_of_the_local_edge"] == 1 and sets["near_edge"]["converged"] == [False]
    assert 0.99 < sets["near_edge"]["learning_rate_over_local_edge"][0] < 1


# A number the README states, followed by the JSON value it comes from:
#   0.33<!-- entropy.json: models/radial only/test_mae {:.2f} -->
# (path keys separated by "/", list indices as integers; the format is Python's, a trailing % dropped as the
# README writes "0.8 %"). GitHub hides the comment.
SOURCED = re.compile(r"([-−]?\d[\d,]*(?:\.\d+)?(?:e[-+−]?\d+)?)<!-- (\w+\.json): (.+?) (\{[^}]*\}) -->")


def _json_value(file, path):
    value = json.loads((ROOT / "figures" / file).read_text())
    for key in path.split("/"):
        value = value[int(key)] if isinstance(value, list) else value[key]
    return value


def test_every_sourced_readme_number_is_its_json_value():
    found = SOURCED.findall(README)
    assert len(found) >= 10 and README.count("<!--") == len(found), "a README comment that is not a source annotation"
    wrong = [(stated, file, path, spec.format(_json_value(file, path))) for stated, file, path, spec in found
             if spec.format(_json_value(file, path)).rstrip("%") != stated.replace("−", "-")]
    assert not wrong, wrong


def test_the_entropy_cost_paragraph_holds_in_the_timings_file():
    """The README's cost paragraph states no timing; what it states must hold in entropy_timings.json."""
    assert "a test checking it against that file" in README
    timings = json.loads((ROOT / "figures" / "entropy_timings.json").read_text())
    cost, slopes = timings["cost_seconds"], timings["cost_slopes"]
    assert cost["atoms"][-1] == 984
    largest = {stage: values[-1] for stage, values in cost.items() if stage != "atoms"}
    others = ("relax", "hessian", "descriptor")
    assert largest["diagonalise"] > 3 * max(largest[s] for s in others)  # "by far its largest part"
    assert slopes["exact"] > slopes["descriptor"]  # "grows faster with the cell than the model does"
    assert 0.5 < largest["hessian"] / largest["relax"] < 2  # "about as much as the relaxation"
    assert timings["exact_over_descriptor_at_largest"] >= 8  # "an order of magnitude below"


def test_the_throughput_targets_the_readme_calls_missed_are_missed_in_the_json():
    numbers = json.loads((ROOT / "figures" / "throughput.json").read_text())
    summary, small = numbers["summary"], numbers["headline"]["small float32"]["lab_speedup_over"]
    assert summary["large_speedup_over_batched"][0] < 1.5  # "where 1.5x faster was asked"
    assert small["numpy_loop"] < 50 and small["jax_loop_scan"] < 15  # "where 50x and 15x were asked"
    assert summary["large_gram_speedup"][1] < 50 and summary["all_compile_s"][0] > 2
    fraction = {dtype: numbers["headline"][f"large {dtype}"]["lab_fraction_of_ceiling"]
                for dtype in ("float32", "float64")}
    assert fraction["float64"] < 0.8 <= fraction["float32"]  # "met in float32, missed in float64"

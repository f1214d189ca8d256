"""Experiments run end to end in quick mode and their numbers say what the figures show."""

import json

import pytest

import experiments
from experiments import least_squares


@pytest.fixture(scope="module")
def least_squares_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    return out, least_squares.reproduce(out, quick=True)


def test_least_squares_writes_its_figure_and_numbers(least_squares_out):
    out, summary = least_squares_out
    assert (out / "least_squares_convergence.png").stat().st_size > 10_000
    assert json.loads((out / "least_squares.json").read_text()) == summary


def test_least_squares_numbers_match_theory(least_squares_out):
    _, summary = least_squares_out
    assert summary["kappa"] == pytest.approx(least_squares.KAPPA, rel=1e-6)
    assert summary["gradient_norm_at_closed_form"] <= 1e-10
    below, best, at, above = summary["runs"]
    assert best["learning_rate"] == pytest.approx(summary["best_learning_rate"])
    assert best["final_gap"] <= 1e-12 and not best["diverged"]
    assert below["final_gap"] > best["final_gap"]
    assert not at["diverged"] and at["final_gap"] > 0.1 * summary["runs"][0]["final_gap"]
    assert above["diverged"] and above["diverged_at"] > 0
    for run in summary["runs"]:
        assert run["max_relative_deviation_from_prediction"] <= 5e-11  # README 9.1e-12, quick 4.3e-12: rounding
    draws = summary["draws"]  # the same claims on other data sets (README: 9.1e-12 over 20)
    assert draws["count"] == least_squares.SIZES["draws"][1] and draws["diverged_iff_above_the_edge"]
    assert draws["max_relative_deviation_from_prediction"] <= 5e-11


@pytest.mark.parametrize("name", experiments.NAMES)
def test_every_experiment_refuses_an_unwritable_output_before_computing(name, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ValueError, match="output directory"):
        experiments.load(name).reproduce(blocker / "figures", quick=True)
    assert list(tmp_path.iterdir()) == [blocker]


LONGEST_LESSON = 150  # lines: a lesson reads as a screen or two (README, "Gallery")
LONGEST_LINE = 120  # characters, as in the library


def test_a_summary_is_the_docstrings_first_paragraph_on_one_line():
    assert experiments.first_paragraph("\nLeast squares: the closed form\n  against descent.\n\nMore.\n") == (
        "Least squares: the closed form against descent.")


@pytest.mark.parametrize("name", experiments.NAMES)
def test_a_lesson_computes_and_its_figures_module_draws(name):
    """The layout the README states: experiments/NAME.py never draws (no matplotlib), experiments/figures/NAME.py
    does, and the lesson stays short, in lines of the library's width; its summary (`lab list`, `--help`) is a
    sentence."""
    import ast
    from pathlib import Path

    folder = Path(experiments.__file__).parent
    source = (folder / f"{name}.py").read_text()
    imported = {alias.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom)}
    assert not {module for module in imported if module.split(".")[0] == "matplotlib"}
    assert f"experiments.figures.{name}" in imported and (folder / "figures" / f"{name}.py").is_file()
    assert len(source.splitlines()) <= LONGEST_LESSON
    for path in (folder / f"{name}.py", folder / "figures" / f"{name}.py"):
        long = [number for number, line in enumerate(path.read_text().splitlines(), 1) if len(line) > LONGEST_LINE]
        assert not long, f"{path.name}: lines {long} are longer than {LONGEST_LINE} characters"
    summary = experiments.summary(name)
    assert summary.endswith(".") and len(summary) > len(name) + 10


@pytest.mark.parametrize("name", experiments.NAMES)
def test_a_lesson_uses_its_seed_unless_lab_run_help_says_it_draws_with_fixed_seeds(name):
    """`lab run logistic_edges --seed 7` wrote seed 0's numbers while `--help` called --seed the random seed (a
    probe's finding): a lesson's `reproduce` reads `seed`, or it is in FIXED_SEED and its docstring says so."""
    import ast
    import inspect
    import re

    function = experiments.load(name).reproduce
    body = ast.parse(inspect.getsource(function)).body[0].body
    reads = any(isinstance(node, ast.Name) and node.id == "seed" for part in body for node in ast.walk(part))
    assert reads != (name in experiments.FIXED_SEED)
    if not reads:
        assert re.search(r"`seed` changes? nothing", " ".join(function.__doc__.split()))

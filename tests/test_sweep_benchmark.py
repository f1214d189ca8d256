"""benchmarks/sweeps.py: the sweep and the loop compute the same runs; the README states figures/sweeps.json."""

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import sweeps

ROOT = Path(__file__).parent.parent


def test_the_sweep_and_the_loop_of_jitted_runs_agree():
    axes = {"batch_size": np.array([1.0, 8.0]), "learning_rate": np.array([0.05, 0.1]), "seed": np.arange(2)}
    _, _, difference = sweeps.compare(sweeps.minibatch_run(20), axes, repeats=1)
    assert difference.shape == (8,) and difference.max() <= 1e-12


def test_the_workloads_written_on_the_library_are_the_lessons():
    """benchmarks/sweeps.py imports no lesson: its network and its interpolating data are the lessons', written
    again."""
    import jax
    import jax.numpy as jnp

    from experiments import edge_of_stability, interpolating_diabetes
    from lab import criteria, descent

    data = edge_of_stability.load(jnp.float64)
    init = edge_of_stability.initial_parameters(jax.random.key(0), data.X.shape[1], jnp.float64)
    zero = descent.Optimum(jnp.zeros_like(init), jnp.zeros((), init.dtype))
    lesson = descent.run(edge_of_stability.mean_squared_error, data, init, zero, 3, learning_rate=0.4,
                         growth=jnp.finfo(init.dtype).max)
    assert float(sweeps.network_run(3)(0.4)["final_loss"]) == float(lesson.gap[-1])
    lesson_data, optimum = interpolating_diabetes(jnp.float64)
    run = sweeps.minibatch_run(3)
    reference = descent.optimum(criteria.least_squares, optimum, lesson_data)
    trace = descent.run(criteria.least_squares, lesson_data, jnp.zeros_like(optimum), reference, 3, learning_rate=0.1,
                        batches=descent.Minibatches(4.0, jax.random.key(1), lesson_data.X.shape[0], True))
    assert float(run(4.0, 0.1, 1)["final_gap"]) == float(trace.gap[-1])


def test_the_readme_states_the_numbers_of_figures_sweeps_json():
    numbers = json.loads((ROOT / "figures" / "sweeps.json").read_text())["workloads"]
    text = " ".join((ROOT / "README.md").read_text().split("**Speed** (`python -m benchmarks.sweeps`", 1)[1]
                    .split("\n\n", 1)[0].split())
    sgd, network = numbers["minibatch_sgd"], numbers["network_gradient_descent"]
    assert f"{sgd['runs']:,} mini-batch SGD runs" in text and f"takes {sgd['sweep_s']:.2f} s" in text
    assert f"{sgd['loop_s']:.1f} s: {sgd['loop_over_sweep']:.1f}×" in text
    assert f"({network['loop_over_sweep']:.1f}×)" in text
    assert network["relative_differences"][0] == 0.0 and max(network["relative_differences"]) < 0.1
    masking = json.loads((ROOT / "figures" / "sweeps.json").read_text())["masking"]
    assert f"take {masking['ratio']:.1f}× the time" in text and masking["ratio"] > 1


@pytest.mark.parametrize("gram", [False, True], ids=["data form", "Gram form"])
def test_the_bookkeeping_variants_compute_the_same_runs(gram):
    """benchmarks/bookkeeping.py compares like with like: every variant records the same f(a_t) - f*."""
    from benchmarks import bookkeeping

    found = bookkeeping.variants(n=30, d=3, num_steps=20, num_runs=4, dtype="float64", gram=gram)
    f = found.pop("hand, batched")().T  # (R, T): f(a_t), t < T
    fstar = f[:, 0] - found.pop("descent.run, whole trace")().gap[:, 0]
    gaps = f - fstar[:, None]
    np.testing.assert_allclose(found.pop("hand, vmap")() - fstar[:, None], gaps, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(found.pop("hand, runs as rows")().T - fstar[:, None], gaps, rtol=1e-9, atol=1e-12)
    for name, function in found.items():  # the lab's gaps (R, T + 1), the sweep's (R, 1, T + 1)
        np.testing.assert_allclose(np.asarray(function()).reshape(4, -1)[:, :20], gaps, rtol=1e-9, atol=1e-12,
                                   err_msg=name)

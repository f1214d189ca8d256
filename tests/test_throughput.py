"""The throughput benchmark runs end to end in quick mode: every variant measured, all agreeing, files written."""

import json

import pytest

from benchmarks import throughput


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    return out, throughput.benchmark(out, quick=True, log=lambda message: None)


def blocks(numbers):
    for wname, workload in numbers["workloads"].items():
        for dtype in numbers["settings"]["dtypes"]:
            yield f"{wname} {dtype}", workload[dtype]


def test_quick_run_writes_its_json_and_figure(quick):
    out, numbers = quick
    assert json.loads((out / "throughput.json").read_text()) == json.loads(json.dumps(numbers))
    assert (out / "throughput.png").stat().st_size > 10_000
    assert numbers["quick"] and numbers["settings"]["dtypes"] == ["float64"]


def test_every_variant_is_measured(quick):
    _, numbers = quick
    for key, block in blocks(numbers):
        variants, skipped = block["variants"], block["skipped"]
        for name in throughput.MEASURED:
            if name == "torch_batched" and name in skipped:  # optional: torch is not a dependency
                assert "torch" in skipped[name]
                continue
            if name in throughput.QUICK_SKIP:
                assert skipped[name] == "quick mode"
                continue
            assert name in variants and variants[name]["runs_measured"] >= 1, (key, name)
        assert "run_steps_per_s" in block["matmul_ceiling"] and "first_call_s" in block["compile"]["lab_sweep"]


def test_variants_agree_with_the_lab(quick):
    _, numbers = quick
    for key, block in blocks(numbers):
        agreement = block["agreement"]
        assert agreement["ok"] and agreement["ok_all"], agreement["max_relative_difference"]
        # The README's float64 claim: every variant to 4e-15, the Gram form (another order of sums) to 6.2e-13.
        bound = 1e-12 if key.endswith("float64") else throughput.AGREEMENT_RTOL["float32"]
        for name, difference in agreement["max_relative_difference"].items():
            assert difference <= bound, (key, name, difference)


def test_variants_compute_the_same_losses_on_a_small_problem():
    """Every variant's whole loss curve, not only its throughput: equal to the lab's on stable runs."""
    import jax

    jax.config.update("jax_enable_x64", True)
    work = throughput.QUICK_WORKLOADS["tiny"]  # the quick run's shapes: the lab's sweep is compiled already
    problem = throughput.make_problem(work["n"], work["d"], work["num_steps"], "float64")
    learning_rates = throughput.learning_rate_grid(work["num_runs"])
    reference = throughput.lab_sweep(problem, learning_rates)
    stable = learning_rates < 1.0
    names, _ = throughput.available_variants(quick=True)
    for name in names:
        losses = throughput.FUNCTIONS[name](problem, learning_rates)
        assert losses.shape == (work["num_runs"], work["num_steps"] + 1), name
        assert abs(losses[stable] / reference[stable] - 1).max() <= 1e-9, name

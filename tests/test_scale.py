"""benchmarks/scale.py in quick mode: a chunked grid, every run on the side of 2/L the theory puts it, files written."""

import json

from benchmarks import scale


def test_quick_run_is_chunked_and_every_run_agrees_with_two_over_L(tmp_path):
    numbers = scale.benchmark(tmp_path, quick=True, log=lambda message: None)
    assert json.loads((tmp_path / "scale.json").read_text()) == json.loads(json.dumps(numbers))
    sizes = scale.QUICK_SIZES
    assert numbers["runs"] == sizes["seeds"] * sizes["kappas"] * sizes["learning_rates_over_edge"]
    run, axes = scale.grid(sizes)
    one_seed = (run.bytes_per_run() * sizes["kappas"] * sizes["learning_rates_over_edge"]
                + run.bytes_per_setting() * sizes["kappas"])
    assert 2 * one_seed > numbers["max_bytes"] >= one_seed  # one seed per chunk: the grid runs as 4 chunks
    theory = numbers["theory"]
    assert theory["below_edge"] > 0 and theory["above_edge"] > 0
    assert theory["below_edge_diverged"] == 0 and theory["above_edge_not_diverged"] == 0

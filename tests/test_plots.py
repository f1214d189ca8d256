"""The figures say nothing the runs do not back: no theory entry where there is no theory, no edge but the runs'."""

import matplotlib
import matplotlib.colors

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import pytest  # noqa: E402

from lab import plots, runs, stability, sweep  # noqa: E402


def _labels(figure):
    legends = [ax.get_legend() for ax in figure.axes]
    return [text.get_text() for legend in legends if legend for text in legend.get_texts()]


def test_adam_runs_are_not_labelled_against_gradient_descents_edge_or_theory():
    run = runs.LinearRegressionRun(n=30, d=2, num_steps=60, optimizer=optax.adam)
    grid = sweep.sweep(run, {"learning_rate": np.array([0.01, 0.05]), "kappa": np.array([1.0, 10.0])}, progress=False)
    curves = plots.convergence_curves(grid, select=[{"learning_rate": 0.05, "kappa": 10.0}])
    iterations = plots.iterations_vs_learning_rate(grid)
    labels = _labels(curves) + _labels(iterations)
    plt.close("all")
    assert labels and not any("the edge" in label for label in labels)  # 2/L is not Adam's edge
    assert not any(label.startswith("theory") for label in labels)  # the lab has no Adam theory line to draw


def test_select_is_a_list_of_points():
    grid = sweep.sweep(runs.LinearRegressionRun(n=30, d=2, num_steps=20), {"learning_rate_over_edge": np.array([0.5])},
                       progress=False)
    for select in ({"learning_rate_over_edge": 0.5}, [0.5], []):  # a TypeError from inside the figure before
        with pytest.raises(ValueError, match="select must list at least one run, as dicts"):
            plots.convergence_curves(grid, select=select)


def test_when_every_run_diverges_the_iterations_figure_still_shows_the_swept_learning_rates():
    """Its x range followed the best-step stars (0.91-0.99) before, far from the steps swept (1.2-2)."""
    grid = sweep.sweep(runs.LinearRegressionRun(n=30, d=2, num_steps=50),
                       {"learning_rate_over_edge": np.linspace(1.2, 2.0, 3), "kappa": np.array([1.0, 10.0])},
                       progress=False)
    assert grid["diverged"].all()
    low, high = plots.iterations_vs_learning_rate(grid).axes[0].get_xlim()
    plt.close("all")
    assert low < 1.2 and high > 2.0


def test_one_learning_rate_is_a_narrow_column_not_every_rate_from_zero():
    grid = sweep.sweep(runs.LinearRegressionRun(n=30, d=2, num_steps=20),
                       {"learning_rate_over_edge": np.array([0.5]), "kappa": np.array([1.0, 10.0])}, progress=False)
    mesh = plots.stability_map(grid).axes[0].collections[0]
    plt.close("all")
    x = mesh.get_coordinates()[..., 0]
    assert x.min() > 0.45 and x.max() < 0.55  # 0 to 1 before


def test_at_one_learning_rate_the_theory_is_drawn_as_a_tick_the_legend_shows():
    """A dashed line through one point draws nothing: the legend listed a theory line the figure did not show."""
    grid = sweep.sweep(runs.LinearRegressionRun(n=30, d=2, num_steps=200),
                       {"learning_rate_over_edge": np.array([0.5]), "kappa": np.array([1.0, 10.0])}, progress=False)
    ax = plots.iterations_vs_learning_rate(grid).axes[0]
    predicted = np.maximum(np.squeeze(grid["predicted_iterations"]).astype(float), 1)
    theory = [line for line in ax.lines if line.get_marker() == "_" and line.get_linestyle() == "None"]
    legend = [line for line in ax.get_legend().get_lines() if line.get_label().startswith("theory, worst case")]
    plt.close("all")
    assert sorted(float(line.get_ydata()[0]) for line in theory) == sorted(predicted)  # one tick per curve, drawn
    assert [(line.get_marker(), line.get_linestyle()) for line in legend] == [("_", "None")]


def test_a_value_outside_the_swept_range_is_refused_not_read_as_the_nearest_end():
    """at={"seed": 7} on seeds 0 and 3 drew seed 3 before; inside the range the nearest value is taken."""
    grid = sweep.sweep(runs.LinearRegressionRun(n=30, d=2, num_steps=20),
                       {"learning_rate_over_edge": np.array([0.5, 0.9]), "kappa": np.array([1.0, 10.0]),
                        "seed": np.array([0, 3])}, progress=False)
    for draw in (lambda: plots.stability_map(grid, at={"seed": 7}),
                 lambda: plots.iterations_vs_learning_rate(grid, kappas=[1000.0]),
                 lambda: plots.convergence_curves(grid, select=[{"learning_rate_over_edge": 0.5, "kappa": 0.1}])):
        with pytest.raises(ValueError, match="outside the swept values"):
            draw()
    title = plots.stability_map(grid, at={"seed": np.float32(2.0)}).axes[0].get_title()
    near = plots.convergence_curves(grid, select=[{"learning_rate_over_edge": 0.6, "kappa": 9.0}])
    # two runs told apart by an axis other than the learning rate and kappa: each label names it, at the value drawn
    by_seed = plots.convergence_curves(grid, select=[{"learning_rate_over_edge": 0.5, "kappa": 10.0, "seed": 0},
                                                     {"learning_rate_over_edge": 0.5, "kappa": 10.0, "seed": 2.5}])
    plt.close("all")
    assert "seed = 3" in title and "learning rate 0.5·2/L (below the edge), κ = 10" in _labels(near)
    assert _labels(by_seed)[:2] == ["learning rate 0.5·2/L (below the edge), κ = 10, seed = 0",
                                    "learning rate 0.5·2/L (below the edge), κ = 10, seed = 3"]  # both read "κ = 10"


def test_without_a_row_axis_the_curve_is_labelled_as_the_median_hessians_kappa_not_as_an_axis_value():
    """A seed-only sweep's curve read 'κ = 437.096 (never within the run)', as if κ were swept, while seeds reached."""
    grid = sweep.sweep(runs.LinearRegressionRun(n=30, d=2, num_steps=40),
                       {"learning_rate_over_edge": np.array([0.3, 0.9]), "seed": np.array([0, 1, 2])},
                       progress=False)
    labels = _labels(plots.iterations_vs_learning_rate(grid))
    plt.close("all")
    assert any(label.startswith("κ of H* = 10 (median of 3 seeds)") for label in labels), labels


def test_a_curve_whose_median_never_reached_says_so_and_not_that_no_seed_did():
    """1 of 4 seeds reaches the tolerance: the 10th percentile, interpolated towards the never-reached runs, is inf
    too, and the label read "(never within the run)", as if every seed had failed (a probe's finding)."""
    grid = sweep.sweep(runs.LinearRegressionRun(n=20, d=3, num_steps=150),
                       {"learning_rate_over_edge": [0.9], "kappa": [100.0], "seed": [0, 1, 2, 3]}, progress=False)
    assert (np.asarray(grid["iterations"]).ravel() >= 0).sum() == 1  # the case: one seed reached
    labels = _labels(plots.iterations_vs_learning_rate(grid))
    plt.close("all")
    assert labels[0] == "κ = 100 (the median never within the run)", labels


@pytest.mark.filterwarnings("ignore:the Hessian at the reference optimum is singular")  # by design
def test_a_singular_hessian_still_gets_its_best_learning_rate_line_at_2_over_L():
    """N < P: mu is 0 up to rounding (-1e-15 L from eigh), so 2/(L + mu) = 2/L; the line was dropped as non-convex."""
    import jax

    from lab import criteria, problems

    X, y = problems.random_regression(jax.random.key(0), 10, 30)
    run = runs.CriterionRun(criteria.least_squares, problems.make_data(X, y), 50)
    grid = sweep.sweep(run, {"learning_rate_over_edge": np.array([0.5, 0.9]), "seed": np.array([0])}, progress=False)
    figure, ax = plt.subplots()
    plots.stability_map(grid, ax=ax)
    best = [line for line in ax.get_lines() if line.get_linestyle() == "--" and line.get_color() == plots.BEST_COLOUR]
    plt.close("all")
    assert len(best) == 1 and np.allclose(best[0].get_xdata(), 1.0, rtol=1e-9)


def test_a_map_of_one_row_draws_its_theory_lines_across_the_row():
    """`lab sweep --kappa 10 --plot`: one kappa, so each theory line was a line through one point, which draws
    nothing, while the legend listed both (a probe's finding)."""
    grid = sweep.sweep(runs.LinearRegressionRun(n=30, d=2, num_steps=20),
                       {"learning_rate_over_edge": np.linspace(0.1, 1.5, 8), "kappa": np.array([10.0])}, progress=False)
    ax = plots.stability_map(grid).axes[0]
    lines = {colour: line for line in ax.get_lines() for colour in (plots.EDGE_COLOUR, plots.BEST_COLOUR)
             if line.get_color() == colour}
    low, high = ax.get_ylim()
    plt.close("all")
    for colour, x in ((plots.EDGE_COLOUR, 1.0), (plots.BEST_COLOUR, 10 / 11)):
        assert np.allclose(lines[colour].get_xdata(), x, rtol=1e-6)  # 2/L and 2/(L + mu) = kappa/(kappa + 1) 2/L
        assert np.allclose(sorted(lines[colour].get_ydata()), [low, high])  # across the row, not one point


def test_a_bound_without_a_predicted_rate_and_a_floor_off_the_log_axis_are_refused():
    """Adam has no predicted rate (NaN): the legend listed the bound, and nothing was drawn; a floor of 0 likewise
    listed the rounding floor that a log axis cannot show (a probe's findings)."""
    grid = sweep.sweep(runs.LinearRegressionRun(n=30, d=2, num_steps=20, optimizer=optax.adam),
                       {"learning_rate": np.array([0.01])}, progress=False)
    with pytest.raises(ValueError, match="predicted='bound' needs a predicted rate, .* adam have none"):
        plots.convergence_curves(grid, select=[{"learning_rate": 0.01}], predicted="bound")
    with pytest.raises(ValueError, match="floor must be > 0"):
        plots.convergence_curves(grid, select=[{"learning_rate": 0.01}], floor=0.0)


def test_curve_choices_that_draw_nothing_or_twice_and_a_text_value_are_refused_by_name():
    """max_curves=-1 raised NumPy's "Number of samples, -1", 0 and kappas=[] drew an empty figure whose legend listed
    a band, kappas=[10, 10] two identical curves, and select={"kappa": "10"} a TypeError (a probe's findings)."""
    axes = {"learning_rate_over_edge": np.array([0.5, 0.9]), "kappa": np.array([1.0, 10.0])}
    grid = sweep.sweep(runs.LinearRegressionRun(n=30, d=2, num_steps=20), axes, progress=False)
    for options, words in (({"max_curves": -1}, "max_curves must be an integer >= 1"),
                           ({"max_curves": 0}, "max_curves must be an integer >= 1"),
                           ({"kappas": []}, "kappas must name the curves to draw, each once"),
                           ({"kappas": [10.0, 10.0]}, "kappas must name the curves to draw, each once")):
        with pytest.raises(ValueError, match=words):
            plots.iterations_vs_learning_rate(grid, **options)
    with pytest.raises(ValueError, match="kappa = '10' is not a finite number"):
        plots.convergence_curves(grid, select=[{"learning_rate_over_edge": 0.5, "kappa": "10"}])
    assert len(plots.iterations_vs_learning_rate(grid, kappas=10.0).axes[0].get_lines()) > 0
    plt.close("all")


def test_each_row_of_a_map_paints_its_runs_where_they_ran_even_where_l_differs_by_row():
    """Ridge with l2 rows: L = 2, 4, 10, so one absolute learning rate is another fraction of 2/L on each row. Cells
    shared their corners with the next row, at the mean of both rows' learning rates: slanted, a stable run at
    0.65 x 2/L painted out to 1.6, a diverged one at 1.14 from 0.67 (a probe's finding)."""
    run = runs.LinearRegressionRun(n=50, d=4, num_steps=100, criterion="ridge")
    grid = sweep.sweep(run, {"learning_rate": np.geomspace(0.02, 1.0, 8), "kappa": [10.0], "l2": [0.0, 1.0, 4.0]},
                       progress=False)
    figure = plots.stability_map(grid)
    mesh = figure.axes[0].collections[0]
    corners, values = mesh.get_coordinates(), mesh.get_array()
    plt.close("all")
    x = np.squeeze(np.asarray(grid["learning_rate"]) * np.asarray(grid["L"]) / 2).T  # (l2, learning rate)
    diverged = np.squeeze(grid["diverged"]).T
    for row in range(3):
        left, right = corners[2 * row, :-1, 0], corners[2 * row, 1:, 0]
        np.testing.assert_array_equal(corners[2 * row, :, 0], corners[2 * row + 1, :, 0])  # upright cells
        assert np.all((left < x[row]) & (x[row] < right))  # around the run's own learning rate
        assert np.all(values.mask[2 * row] == diverged[row])  # diverged: masked here, black in the overlay
        assert row == 2 or values.mask[2 * row + 1].all()  # nothing painted between rows
    assert np.all(diverged == (x > 1 + 1e-9))  # every row's edge is its 2/L (x = 1 exactly: stays, |1 - eta L| = 1)


def test_a_maps_rows_are_swept_once_and_its_edges_hold_the_rows_axis():
    """Rows kappa = [1, 10, 10] drew the repeated row with no height (its runs vanished); edges without the rows axis
    kappa were drawn at cond(H*) (2.5 for ridge at kappa 10, on the kappa = 1 row, 42 % off its theory)."""
    run = runs.LinearRegressionRun(n=50, d=4, num_steps=100, criterion="ridge")
    axes = {"learning_rate_over_edge": np.linspace(0.2, 1.3, 4), "l2": [0.5]}
    repeated = sweep.sweep(run, {**axes, "kappa": [1.0, 10.0, 10.0]}, progress=False)
    with pytest.raises(ValueError, match=r"rows axis 'kappa' repeats \[10.0\]"):
        plots.stability_map(repeated)
    grid = sweep.sweep(run, {**axes, "kappa": [1.0, 10.0, 100.0]}, progress=False)
    edges = stability.edge_and_best(run, {"l2": [0.5]}, find_best=False)
    with pytest.raises(ValueError, match="edges lack the map's rows axis 'kappa'"):
        plots.stability_map(grid, edges=edges)
    plt.close("all")


def test_a_curve_is_labelled_by_every_axis_another_curve_selects_and_the_title_leaves_out():
    """One point selects momentum 0.6, the other leaves it at its first value 0: its label said nothing of it, and the
    title drops momentum (a point selects it), so that run's momentum was stated nowhere (a probe's finding)."""
    run = runs.LinearRegressionRun(n=40, d=4, num_steps=30)
    grid = sweep.sweep(run, {"momentum": np.array([0.0, 0.6]), "learning_rate_over_edge": np.array([0.5, 0.9])},
                       progress=False)
    figure = plots.convergence_curves(grid, select=[{"learning_rate_over_edge": 0.5, "momentum": 0.6},
                                                    {"learning_rate_over_edge": 0.9}])
    labels, title = _labels(figure), figure.axes[0].get_title()
    plt.close("all")
    assert labels[0].endswith("momentum = 0.6") and labels[1].endswith("momentum = 0")
    assert "momentum" not in title


def test_a_rate_map_says_which_runs_grew_unstopped_and_which_have_no_rate_instead_of_colouring_them_slow():
    """colour='rate' painted a run ending at 31x its start (1.01 x 2/L, not stopped in 100 steps) as the slowest
    converging, and momentum runs at kappa = 1 without a measured rate (their distance dipped below rounding and rose)
    in the background's grey, 'learning rates not swept' (a probe's finding)."""
    grid = sweep.sweep(runs.LinearRegressionRun(n=40, d=4, num_steps=100),
                       {"learning_rate_over_edge": np.linspace(0.5, 1.01, 5), "kappa": np.array([10.0, 100.0])},
                       progress=False)
    figure = plots.stability_map(grid, colour="rate")
    overlays = {matplotlib.colors.to_hex(mesh.get_cmap()(0.0)): mesh.get_array() for mesh in figure.axes[0].collections
                if mesh.get_cmap().N == 1}
    labels = _labels(figure)
    plt.close("all")
    grew = np.squeeze(grid["final_gap"] > grid["initial_gap"]) & ~np.squeeze(grid["diverged"])  # (lr, kappa)
    assert grew[-1].all() and not grew[:-1].any()
    painted = ~overlays[plots.GREW_COLOUR].mask[::2]  # (kappa, lr)
    np.testing.assert_array_equal(painted, grew.T)
    assert "ended above its start (not stopped by the rule)" in labels
    momentum = sweep.sweep(runs.LinearRegressionRun(n=40, d=4, num_steps=200, optimizer=optax.sgd),
                           {"learning_rate_over_edge": np.geomspace(0.1, 0.9, 4), "kappa": np.array([1.0, 30.0]),
                            "momentum": np.array([0.5])}, progress=False)
    figure = plots.stability_map(momentum, colour="rate")
    labels, left = _labels(figure), figure.axes[0].collections[0].get_coordinates()[..., 0].min()
    plt.close("all")
    assert any(label.startswith("no measured rate") for label in labels) and left > 0  # geometric: no cell below 0

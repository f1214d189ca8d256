"""Adam's edge: with its preconditioner frozen, Adam is heavy ball on P^-1 H, stable below
(2 + 2 b1)/((1 - b1) lambda_max(P^-1 H)); bias correction lowers the edge a growth rule sees.

A quadratic with Hessian eigenvalues 1 to 100 in a random basis and a fixed
diagonal preconditioner P = (0.5, 1, 2, 4, 8). Without bias correction the
measured edge (bisection, `lab.stability`) sits on the formula for every b1
(38 / lambda_max(P^-1 H) at b1 = 0.9). optax's bias correction divides the
first moment by 1 - b1^t: the first steps are up to 1/(1 - b1) times larger,
and near the formula's edge a transient grows by orders of magnitude before
the asymptotic rate wins, so the divergence rule (growth 1e4) fires lower.
"""

# %%
import functools

import jax.numpy as jnp
import numpy as np

from experiments import command_line, max_relative_deviation, prepare, save, size
from experiments.figures.adam import figure
from lab import adam, descent, problems, runs, stability

EIGENVALUES = (1.0, 3.0, 10.0, 30.0, 100.0)
PRECONDITIONER = (0.5, 1.0, 2.0, 4.0, 8.0)
SIZES = dict(  # full, quick
    betas=(np.array([0.0, 0.5, 0.8, 0.9, 0.95, 0.98]), np.array([0.0, 0.9])),
    num_steps=(3000, 1000),
)
TRANSIENT = (0.9, 0.9)  # (b1, learning rate as a fraction of the formula's edge) of the drawn transient


def quadratic(a, data):
    """f(a) = 1/2 (a - a*)^T H (a - a*); data = (H, a*)."""
    hessian, minimiser = data
    return 0.5 * (a - minimiser) @ hessian @ (a - minimiser)


def quadratic_data(dtype, seed):
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(len(EIGENVALUES),) * 2))
    return jnp.asarray((basis * np.asarray(EIGENVALUES)) @ basis.T, dtype), jnp.asarray(
        rng.normal(size=len(EIGENVALUES)), dtype)


def compute(quick, dtype, seed):
    data = quadratic_data(dtype, seed)
    P = jnp.asarray(PRECONDITIONER, dtype)
    sharpness = float(adam.preconditioned_sharpness(data[0], P))
    edges = {}
    for debias in (False, True):
        optimizer = functools.partial(adam.frozen_adam, preconditioner=P, debias=debias)
        run = runs.CriterionRun(quadratic, data, size(SIZES, "num_steps", quick), resample=False, size=len(EIGENVALUES),
                                optimizer=optimizer)
        edges[debias] = stability.edge_and_best(run, {"b1": size(SIZES, "betas", quick)}, edge_bracket=(0.01, 256.0),
                                                rtol=2e-4, find_best=False)["edge_learning_rate"].ravel()
    b1, fraction = TRANSIENT
    problem = problems.problem(quadratic, data, start=jnp.zeros(len(EIGENVALUES), dtype))
    curves = {debias: descent.run(quadratic, data, problem.start, problem.reference, 400,
                                  functools.partial(adam.frozen_adam, preconditioner=P, debias=debias),
                                  growth=jnp.finfo(dtype).max, learning_rate=fraction * adam.threshold(sharpness, b1),
                                  b1=b1).gap
              for debias in (False, True)}
    return sharpness, edges, {k: np.asarray(v) for k, v in curves.items()}


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Write adam.png and adam.json in `out`; return the numbers."""
    out = prepare(out, dtype)
    sharpness, edges, curves = compute(quick, jnp.dtype(dtype), seed)
    betas = size(SIZES, "betas", quick)
    formula = adam.threshold(sharpness, betas)
    numbers = dict(
        eigenvalues=list(EIGENVALUES), preconditioner=list(PRECONDITIONER), preconditioned_sharpness=sharpness,
        num_steps=size(SIZES, "num_steps", quick), betas=betas.tolist(), formula_edge=formula.tolist(),
        measured_edge=edges[False].tolist(), measured_edge_bias_corrected=edges[True].tolist(),
        max_relative_deviation=max_relative_deviation(edges[False], formula),
        bias_corrected_over_formula=(edges[True] / formula).tolist(),
        transient=dict(b1=TRANSIENT[0], fraction_of_edge=TRANSIENT[1],
                       peak_growth_bias_corrected=float(curves[True].max() / curves[True][0]),
                       peak_growth=float(curves[False].max() / curves[False][0]),
                       final_gap_ratio_bias_corrected=float(curves[True][-1] / curves[True][0])),
    )
    return save(out, "adam", numbers, {"": figure(betas, formula, edges, curves, TRANSIENT)})


# %%
if __name__ == "__main__":
    result = command_line(reproduce, __doc__)
    print(result["max_relative_deviation"], result["bias_corrected_over_formula"], result["transient"])

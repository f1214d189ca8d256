"""Automatic differentiation: the course's chain by hand both ways, and forward against reverse mode's cost
as the dimension grows.

The chain y = f(g(h(x))) (h = tanh of a linear map, g = square, f = mean) is
differentiated by hand, tangents forward and adjoints backward, and checked
against `jax.jvp` and `jax.vjp`. Then the gradient of a least-squares
criterion of D parameters is computed by forward mode (`jacfwd`, D tangent
passes) and reverse mode (`grad`, one adjoint pass), counting XLA's
operations and timing both; and a function of one input with D outputs
shows the opposite.
"""

# %%
import timeit

import jax
import jax.numpy as jnp
import numpy as np

from experiments import command_line, loglog_slope, prepare, save, size
from experiments.figures.autodiff import figure
from lab import autodiff, criteria

SAMPLES = 64  # rows of the least-squares criterion whose operations are counted (the counts scale with it)
TIMED_SAMPLES = 2048  # rows of the one that is timed: enough arithmetic to rise above the call overhead
SIZES = dict(  # full, quick
    dimensions=((10, 30, 100, 300, 1000, 3000, 10000), (10, 100, 1000, 10000)),
    timed_up_to=(dict(f=10000, grad=10000, jacfwd=1000), dict(f=100, grad=100, jacfwd=100)),  # jacfwd: D passes
)
REPEATS = 20


# %%
def chain_check(seed, dtype):
    """Largest differences between the hand-written passes and jax.jvp / jax.vjp."""
    k_a, k_x, k_dx = jax.random.split(jax.random.key(seed), 3)
    A = jax.random.normal(k_a, (30, 20), dtype) / 4
    x, dx = jax.random.normal(k_x, (20,), dtype), jax.random.normal(k_dx, (20,), dtype)
    layers = [autodiff.linear_tanh(A), autodiff.square(), autodiff.mean()]
    y, dy = autodiff.forward_mode(layers, x, dx)
    y_jax, dy_jax = jax.jvp(autodiff.compose(layers), (x,), (dx,))
    _, x_bar = autodiff.reverse_mode(layers, x, jnp.ones((), dtype))
    y_vjp, pullback = jax.vjp(autodiff.compose(layers), x)
    return dict(value=float(abs(y - y_jax)), forward=float(abs(dy - dy_jax)),
                reverse=float(jnp.max(jnp.abs(x_bar - pullback(jnp.ones((), dtype))[0]))),
                gradient_norm=float(jnp.linalg.norm(x_bar)))


def scalar_criterion(d, dtype, samples=SAMPLES):
    """Least squares of D parameters on `samples` fixed samples, and a point to differentiate at."""
    rng = np.random.default_rng(d)  # numpy: one data set per D, no compilation per shape
    X, y = rng.normal(size=(samples, d)).astype(dtype), rng.normal(size=samples).astype(dtype)
    data = criteria.Data(*jax.device_put((X, y)))
    return (lambda a: criteria.least_squares(a, data)), jax.device_put(np.zeros(d, dtype))


def many_outputs(d, dtype):
    """One input, D outputs: t -> tanh(t w + b)."""
    w, b = np.linspace(-1, 1, d, dtype=dtype), np.linspace(0, 1, d, dtype=dtype)
    return (lambda t: jnp.tanh(t * w + b)), jax.device_put(np.asarray(0.3, dtype))


def seconds(compiled, x):
    """Best of REPEATS calls of a compiled function (after one to warm up), in seconds."""
    call = lambda: jax.block_until_ready(compiled(x))  # noqa: E731
    call()
    return float(min(timeit.repeat(call, number=1, repeat=REPEATS)))


def costs(dimensions, timed_up_to, dtype):
    """Operations of the function, reverse and forward mode, per dimension (SAMPLES rows); and their seconds
    (TIMED_SAMPLES rows) up to `timed_up_to[name]`: {name: [(D, seconds), ...]}."""
    rows = {name: [] for name in ("f", "grad", "jacfwd", "g", "g_jacrev", "g_jacfwd")}
    for d in dimensions:
        f, a = scalar_criterion(d, dtype)
        g, t = many_outputs(d, dtype)
        for name, fn, x in (("f", f, a), ("grad", jax.grad(f), a), ("jacfwd", jax.jacfwd(f), a),
                            ("g", g, t), ("g_jacrev", jax.jacrev(g), t), ("g_jacfwd", jax.jacfwd(g), t)):
            rows[name].append(autodiff.flops(jax.jit(fn).lower(x).compile()))
    timings = {name: [] for name in timed_up_to}
    for d in dimensions:
        f, a = scalar_criterion(d, dtype, TIMED_SAMPLES)
        for name, fn in (("f", f), ("grad", jax.grad(f)), ("jacfwd", jax.jacfwd(f))):
            if d <= timed_up_to[name]:
                timings[name].append((d, seconds(jax.jit(fn).lower(a).compile(), a)))
    return rows, timings


def slope(x, y):
    """Fitted exponent of y ~ x^slope on the largest half of the dimensions (at least two points)."""
    half = min(len(x) // 2, len(x) - 2)
    return loglog_slope(x[half:], y[half:])


# %%


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Write autodiff.png, autodiff.json and autodiff_timings.json in `out`; return the numbers."""
    out = prepare(out, dtype)
    dtype = jnp.dtype(dtype)
    dimensions = size(SIZES, "dimensions", quick)
    rows, timings = costs(dimensions, size(SIZES, "timed_up_to", quick), dtype)
    numbers = dict(
        chain=chain_check(seed, dtype), dimensions=list(dimensions), flops=rows,
        reverse_over_function=(np.asarray(rows["grad"]) / np.asarray(rows["f"])).tolist(),
        forward_over_function=(np.asarray(rows["jacfwd"]) / np.asarray(rows["f"])).tolist(),
        slopes={name: slope(np.asarray(dimensions, float), np.asarray(y)) for name, y in rows.items()},
    )
    timed_slopes = {"timed_" + name: slope(*np.asarray(pairs, float).T) for name, pairs in timings.items()}
    return save(out, "autodiff", numbers, {"": figure(dimensions, rows, timings, timed_slopes | numbers["slopes"],
                                                       SAMPLES, TIMED_SAMPLES, REPEATS)},
                timings=dict(samples=TIMED_SAMPLES,
                             seconds={name: [t for _, t in pairs] for name, pairs in timings.items()},
                             dimensions={name: [d for d, _ in pairs] for name, pairs in timings.items()}))


# %%
if __name__ == "__main__":
    result = command_line(reproduce, __doc__)
    print("hand-written against jax:", result["chain"])
    print("slopes:", {k: round(v, 2) for k, v in result["slopes"].items()})

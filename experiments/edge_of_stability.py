"""Edge of stability: a tanh network trained by full-batch gradient descent sharpens until its sharpness reaches 2/eta, then hovers there while the loss keeps falling.

Cohen, Kaur, Li, Kolter and Talwalkar (ICLR 2021), Figure 1, on 500 of
scikit-learn's digits: a two-hidden-layer tanh network (64 -> 32 -> 32 -> 10,
weights drawn at half the usual scale, so that it starts flat) trained with
mean squared error on one-hot targets, at several learning rates in one
compiled call (`lab.sweep` over the learning rate). Every EVERY steps the
sharpness, the top eigenvalue of the loss's Hessian, is measured by power
iteration on Hessian-vector products (`lab.spectrum.power_iteration`, warm
started). Theory says gradient descent on a quadratic diverges above 2/eta;
on the network the sharpness rises (progressive sharpening) until it meets
2/eta and then stays at it (eta x sharpness / 2 about 1), the loss falling
non-monotonically.
"""

# %%
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from experiments import command_line, prepare, save  # noqa: E402
from lab import descent, problems, spectrum, sweep  # noqa: E402

DIGITS = Path(__file__).parent / "data" / "digits.csv"
WIDTHS = (32, 32, 10)  # the hidden layers and the output; the input is the pixels that vary
INIT_SCALE = 0.5  # times the usual 1/sqrt(fan-in)
EVERY, POWER_STEPS = 20, 20  # sharpness every EVERY steps, by POWER_STEPS warm-started power steps
SIZES = dict(  # full, quick
    learning_rates=(np.array([0.05, 0.3, 0.4, 0.5, 0.7]), np.array([0.05, 0.5, 0.7])),
    num_steps=(6000, 1500),
)


def size(name, quick):
    return SIZES[name][1 if quick else 0]


class Digits(NamedTuple):
    X: jax.Array  # (N, D) standardised pixels, the D of 64 that vary over the images
    Y: jax.Array  # (N, 10) one-hot digits


def shapes(inputs):
    """(fan-in, fan-out) of each layer."""
    widths = (inputs, *WIDTHS)
    return list(zip(widths[:-1], widths[1:]))


def network(a, X):
    """The tanh network's outputs (N, 10) for flat parameters a (weights then biases, layer by layer)."""
    h, start = X, 0
    for i, (m, n) in enumerate(shapes(X.shape[1])):
        W, b = a[start:start + m * n].reshape(m, n), a[start + m * n:start + m * n + n]
        start += m * n + n
        h = h @ W + b if i == len(WIDTHS) - 1 else jnp.tanh(h @ W + b)
    return h


def mean_squared_error(a, data: Digits):
    return 0.5 * jnp.mean(jnp.sum((network(a, data.X) - data.Y) ** 2, axis=1))


def initial_parameters(key, inputs, dtype):
    parts = []
    for m, n in shapes(inputs):
        key, draw = jax.random.split(key)
        parts += [INIT_SCALE * jax.random.normal(draw, (m * n,), dtype) / np.sqrt(m), jnp.zeros(n, dtype)]
    return jnp.concatenate(parts)


def load(dtype):
    X, labels, _ = problems.load_csv(DIGITS, "digit")
    X = problems.standardize(X[:, np.asarray(jnp.std(X, axis=0)) > 0])[0]  # pixels blank in every image dropped
    return Digits(X.astype(dtype), jnp.asarray(np.eye(10)[np.asarray(labels, int)], dtype))


def train(data, init, num_steps):
    """A run of the sweep: full-batch gradient descent at `learning_rate`, the loss every step and the sharpness
    every EVERY steps (the run in segments of EVERY steps, each ending with a few warm-started power steps)."""
    zero = descent.Optimum(jnp.zeros_like(init), jnp.zeros((), init.dtype))  # the gaps are then the losses

    def run(learning_rate):
        def segment(carry, _):
            params, vector = carry
            trace = descent.run(mean_squared_error, data, params, zero, EVERY, learning_rate=learning_rate,
                                growth=jnp.finfo(init.dtype).max)
            sharpness, vector = spectrum.power_iteration(mean_squared_error, trace.params, data, vector, POWER_STEPS)
            return (trace.params, vector), (trace.gap[:-1], sharpness)

        start = jnp.ones_like(init) / np.sqrt(init.size)
        _, (loss, sharpness) = jax.lax.scan(segment, (init, start), None, length=num_steps // EVERY)
        return {"loss": loss.reshape(-1), "sharpness": sharpness}

    return run


def compute(quick, dtype, seed):
    data = load(dtype)
    init = initial_parameters(jax.random.key(seed), data.X.shape[1], dtype)
    grid = sweep.sweep(train(data, init, size("num_steps", quick)), {"learning_rate": size("learning_rates", quick)},
                       progress=False)
    initial = spectrum.power_iteration(mean_squared_error, init, data, jnp.ones_like(init), 200)[0]
    return data, np.asarray(grid["loss"]), np.asarray(grid["sharpness"]), float(initial)


def crossing(sharpness, learning_rate):
    """(first iteration whose sharpness reaches 2/eta or -1, eta x sharpness / 2 at the measurements after it)."""
    reached = np.nonzero(sharpness >= 2 / learning_rate)[0]
    if reached.size == 0:
        return -1, np.array([])
    return int((reached[0] + 1) * EVERY), sharpness[reached[0]:] * learning_rate / 2


def figure(learning_rates, loss, sharpness, inputs):
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    t = np.arange(loss.shape[1])
    measured = (np.arange(sharpness.shape[1]) + 1) * EVERY
    top = 1.25 * max(2 / learning_rates[1:].min(), np.nanmax(sharpness))
    for k, eta in enumerate(learning_rates):
        colour = f"C{k}"
        left.semilogy(t, loss[k], color=colour, lw=1.2, label=f"η = {eta:g}")
        above = f" (2/η = {2 / eta:g}, above)" if 2 / eta > top else ""
        right.plot(measured, sharpness[k], color=colour, lw=1.8, label=f"η = {eta:g}{above}")
        right.axhline(2 / eta, color=colour, ls="--", lw=1)
    right.plot([], [], "k--", lw=1, label="2/η (same colour)")
    left.set_xlabel("iteration t")
    left.set_ylabel("training loss (mean squared error)")
    left.set_title("Loss: falls over long windows, not monotonically", fontsize=11)
    left.legend(fontsize=8)
    left.grid(True, alpha=0.3)
    right.set_ylim(0, top)
    right.set_xlabel("iteration t")
    right.set_ylabel("sharpness: top eigenvalue of the Hessian")
    right.set_title("Sharpness rises to 2/η and stays there", fontsize=11)
    right.legend(fontsize=8, loc="upper right", ncol=2)
    right.grid(True, alpha=0.3)
    widths = "–".join(map(str, (inputs, *WIDTHS)))
    fig.suptitle(f"Tanh network {widths} on 500 digits, full-batch gradient descent, mean squared error", fontsize=12)
    fig.tight_layout()
    return fig


def run(out="figures", quick=False, dtype="float64", seed=0):
    """Write edge_of_stability.png and edge_of_stability.json in `out`; return the numbers."""
    out = prepare(out, dtype)
    data, loss, sharpness, initial = compute(quick, jnp.dtype(dtype), seed)
    inputs = data.X.shape[1]
    learning_rates = size("learning_rates", quick)
    per_rate = {}
    for k, eta in enumerate(learning_rates):
        first, ratios = crossing(sharpness[k], eta)
        half = loss.shape[1] // 2
        per_rate[f"{eta:g}"] = dict(
            first_crossing=first,
            median_sharpness_ratio_after_crossing=float(np.median(ratios)) if ratios.size else None,
            sharpness_ratio_10_90=np.percentile(ratios, [10, 90]).tolist() if ratios.size else None,
            loss_increases=int(np.sum(np.diff(loss[k]) > 0)),
            loss_halves=[float(loss[k][half - 1]), float(loss[k][-1])],
            final_sharpness=float(sharpness[k, -1]), two_over_eta=float(2 / eta))
    numbers = dict(
        widths=[inputs, *WIDTHS], num_params=int(sum(m * n + n for m, n in shapes(inputs))),
        num_samples=500, num_steps=size("num_steps", quick), sharpness_every=EVERY, power_steps=POWER_STEPS,
        initial_sharpness=initial, learning_rates=learning_rates.tolist(),
        progressive_sharpening=float(sharpness[0].max() / initial), per_learning_rate=per_rate,
    )
    return save(out, "edge_of_stability", numbers, {"": figure(learning_rates, loss, sharpness, inputs)})


# %%
if __name__ == "__main__":
    result = command_line(run, __doc__)
    print(result["progressive_sharpening"], {k: (v["first_crossing"], v["median_sharpness_ratio_after_crossing"])
                                             for k, v in result["per_learning_rate"].items()})

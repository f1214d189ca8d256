"""Edge of stability: a tanh network trained by full-batch gradient descent sharpens until its sharpness reaches
2/eta, then hovers there while the loss keeps falling.

Cohen, Kaur, Li, Kolter and Talwalkar (ICLR 2021), Figure 1, on 500 of scikit-learn's digits: a
two-hidden-layer tanh network (64 -> 32 -> 32 -> 10, weights drawn at half the usual scale, so that
it starts flat) trained with mean squared error on one-hot targets, at several learning rates in one
compiled call (`lab.sweep` over the learning rate). Every EVERY steps the sharpness, the top
eigenvalue of the loss's Hessian, is measured by power iteration on Hessian-vector products
(`lab.spectrum.power_iteration`, warm started). Theory says gradient descent on a quadratic diverges
above 2/eta; on the network the sharpness rises (progressive sharpening) until it meets 2/eta and
then stays at it (eta x sharpness / 2 about 1), the loss falling non-monotonically. Full-batch Adam
does the same with its preconditioned sharpness lambda_max(P^-1 H) against its own edge 38/eta
(Cohen et al. 2022, `lab.adam`).
"""

# %%
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments import command_line, first_above, prepare, save, size
from experiments.figures.edge_of_stability import figure
from lab import adam, datasets, descent, networks, problems, spectrum, sweep

WIDTHS = (32, 32, 10)  # the hidden layers and the output; the input is the pixels that vary
INIT_SCALE = 0.5  # times the usual 1/sqrt(fan-in)
EVERY, POWER_STEPS = 20, 20  # sharpness every EVERY steps, by POWER_STEPS warm-started power steps
ADAM = dict(b1=0.9, b2=0.999, eps=1e-7)  # full-batch Adam, its sharpness preconditioned by P = sqrt(nu_hat) + eps
SIZES = dict(  # full, quick
    learning_rates=(np.array([0.05, 0.3, 0.4, 0.5, 0.7]), np.array([0.05, 0.7])),
    num_steps=(6000, 1500),
    adam_learning_rates=(np.array([1e-3, 2e-3, 4e-3, 8e-3]), np.array([8e-3])),
    adam_num_steps=(3000, 500),
)


class Digits(NamedTuple):
    X: jax.Array  # (N, D) standardised pixels, the D of 64 that vary over the images
    Y: jax.Array  # (N, 10) one-hot digits


def widths(inputs):
    """The network's widths: the pixels that vary, then WIDTHS."""
    return (inputs, *WIDTHS)


def mean_squared_error(a, data: Digits):
    return 0.5 * jnp.mean(jnp.sum((networks.mlp(a, data.X, widths(data.X.shape[1])) - data.Y) ** 2, axis=1))


def initial_parameters(key, inputs, dtype):
    return networks.init(key, widths(inputs), dtype, scale=INIT_SCALE)


def load(dtype):
    X, labels, _ = datasets.digits()
    X = problems.standardize(X[:, np.asarray(jnp.std(X, axis=0)) > 0])[0]  # pixels blank in every image dropped
    return Digits(X.astype(dtype), jnp.asarray(np.eye(10)[np.asarray(labels, int)], dtype))


def train(data, init, num_steps, with_adam):
    """A run of the sweep: full-batch gradient descent (or Adam) at `learning_rate`, the loss every step and the
    sharpness (Adam's: preconditioned) every EVERY steps: the run in segments of EVERY steps, each continued
    from the last one's parameters and optimizer state and ending with a few warm-started power steps."""
    zero = descent.Optimum(jnp.zeros_like(init), jnp.zeros((), init.dtype))  # the gaps are then the losses
    optimizer, hyper = (optax.adam, ADAM) if with_adam else (optax.sgd, {})

    def run(learning_rate):
        def segment(carry, _):
            params, state, vector = carry
            trace = descent.run(mean_squared_error, data, params, zero, EVERY, optimizer, learning_rate=learning_rate,
                                opt_state=state, return_state=True, growth=jnp.finfo(init.dtype).max, **hyper)
            scale = 1 / jnp.sqrt(adam.preconditioner(trace.opt_state, ADAM["b2"], ADAM["eps"])) if with_adam else None
            sharpness, vector = spectrum.power_iteration(mean_squared_error, trace.params, data, vector, POWER_STEPS,
                                                         scale)
            return (trace.params, trace.opt_state, vector), (trace.gap[:-1], sharpness)

        start = (init, optimizer(learning_rate, **hyper).init(init), jnp.ones_like(init) / np.sqrt(init.size))
        _, (loss, sharpness) = jax.lax.scan(segment, start, None, length=num_steps // EVERY)
        return {"loss": loss.reshape(-1), "sharpness": sharpness}

    return run


def compute(quick, dtype, seed):
    data = load(dtype)
    init = initial_parameters(jax.random.key(seed), data.X.shape[1], dtype)
    curves = {}
    for name, prefix in (("gradient descent", ""), ("Adam", "adam_")):
        grid = sweep.sweep(train(data, init, size(SIZES, prefix + "num_steps", quick), name == "Adam"),
                           {"learning_rate": size(SIZES, prefix + "learning_rates", quick)}, progress=False)
        curves[name] = np.asarray(grid["loss"]), np.asarray(grid["sharpness"])
    return data, curves, float(spectrum.power_iteration(mean_squared_error, init, data, jnp.ones_like(init), 200)[0])


def threshold(name, learning_rate):
    """Where the sharpness sits at the edge: 2/eta for gradient descent (eta < 2/L iff L < 2/eta),
    (2 + 2 b1)/((1 - b1) eta) for Adam."""
    return (adam.sharpness_threshold(learning_rate, ADAM["b1"]) if name == "Adam"
            else spectrum.sharpness_threshold(learning_rate))


def summary(name, learning_rates, loss, sharpness):
    """Per learning rate: the first iteration whose sharpness reaches the edge (-1 if none), sharpness / edge at the
    measurements from then on (median, 10-90 %), how the loss fell."""
    per_rate, half = {}, loss.shape[1] // 2
    for k, eta in enumerate(learning_rates):
        edge = threshold(name, eta)
        reached = first_above(sharpness[k], edge)  # the index of a measurement, taken after (reached + 1) EVERY steps
        ratios = np.array([]) if reached is None else sharpness[k, reached:] / edge
        per_rate[f"{eta:g}"] = dict(
            first_crossing=-1 if reached is None else (reached + 1) * EVERY,
            median_sharpness_ratio_after_crossing=float(np.median(ratios)) if ratios.size else None,
            sharpness_ratio_10_90=np.percentile(ratios, [10, 90]).tolist() if ratios.size else None,
            loss_increases=int(np.sum(np.diff(loss[k]) > 0)),
            loss_halves=[float(loss[k][half - 1]), float(loss[k][-1])],
            final_sharpness=float(sharpness[k, -1]), edge=float(edge))
    return per_rate


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Write edge_of_stability.png, edge_of_stability_adam.png and edge_of_stability.json in `out`."""
    out = prepare(out, dtype)
    data, curves, initial = compute(quick, jnp.dtype(dtype), seed)
    rates = {"gradient descent": size(SIZES, "learning_rates", quick),
             "Adam": size(SIZES, "adam_learning_rates", quick)}
    loss, sharpness = curves["gradient descent"]
    numbers = dict(
        widths=list(widths(data.X.shape[1])), num_params=networks.size(widths(data.X.shape[1])),
        num_samples=int(data.X.shape[0]), num_steps=size(SIZES, "num_steps", quick), sharpness_every=EVERY,
        power_steps=POWER_STEPS, initial_sharpness=initial, learning_rates=rates["gradient descent"].tolist(),
        progressive_sharpening=float(sharpness[0].max() / initial),
        per_learning_rate=summary("gradient descent", rates["gradient descent"], loss, sharpness),
        adam=dict(**ADAM, num_steps=size(SIZES, "adam_num_steps", quick), learning_rates=rates["Adam"].tolist(),
                  per_learning_rate=summary("Adam", rates["Adam"], *curves["Adam"])),
    )
    figures = {key: figure(name, rates[name], threshold(name, rates[name]), *curves[name], numbers)
               for key, name in (("", "gradient descent"), ("adam", "Adam"))}
    return save(out, "edge_of_stability", numbers, figures)


# %%
if __name__ == "__main__":
    result = command_line(reproduce, __doc__)
    # per learning rate, gradient descent's then Adam's: (first crossing, median sharpness / edge after it)
    for per_rate in (result["per_learning_rate"], result["adam"]["per_learning_rate"]):
        print({eta: (v["first_crossing"], v["median_sharpness_ratio_after_crossing"]) for eta, v in per_rate.items()})

"""The figures of `experiments.edge_of_stability`: loss and sharpness against the iteration, for gradient descent and
Adam."""

import matplotlib.pyplot as plt
import numpy as np


def figure(name, learning_rates, edges, loss, sharpness, numbers):
    """Loss (left) and sharpness beside its edge `edges` (right) of each learning rate; `numbers` the lesson's JSON."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    t = np.arange(loss.shape[1])
    measured = (np.arange(sharpness.shape[1]) + 1) * numbers["sharpness_every"]
    symbol = "2/η" if name != "Adam" else "38/η"
    top = 1.25 * max(edges[edges <= 3 * np.nanmax(sharpness)].max(initial=0), np.nanmax(sharpness))
    for k, eta in enumerate(learning_rates):
        colour = f"C{k}"
        left.semilogy(t, loss[k], color=colour, lw=1.2, label=f"η = {eta:g}")
        above = f" ({symbol} = {edges[k]:.3g}, above)" if edges[k] > top else ""
        right.plot(measured, sharpness[k], color=colour, lw=1.8, label=f"η = {eta:g}{above}")
        right.axhline(edges[k], color=colour, ls="--", lw=1)
    right.plot([], [], "k--", lw=1, label=f"{symbol} (same colour)")
    left.set_xlabel("iteration t")
    left.set_ylabel("training loss (mean squared error)")
    left.set_title("Loss: falls over long windows, not monotonically", fontsize=11)
    left.legend(fontsize=8)
    left.grid(True, alpha=0.3)
    right.set_ylim(0, top)
    right.set_xlabel("iteration t")
    if name == "Adam":
        right.set_ylabel("preconditioned sharpness λmax(P⁻¹H)")
        right.set_title("Preconditioned sharpness rises to 38/η and stays there", fontsize=11)
    else:
        right.set_ylabel("sharpness: top eigenvalue of the Hessian")
        right.set_title("Sharpness rises to 2/η and stays there", fontsize=11)
    right.legend(fontsize=8, loc="upper right", ncol=2)
    right.grid(True, alpha=0.3)
    widths = "–".join(map(str, numbers["widths"]))
    method = "full-batch Adam (β₁ = 0.9)" if name == "Adam" else "full-batch gradient descent"
    fig.suptitle(f"Tanh network {widths} on 500 digits, {method}, mean squared error", fontsize=12)
    fig.tight_layout()
    return fig

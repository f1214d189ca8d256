"""The figures of `experiments.entropy`: parity, signed error, cost, finite-size trend, interstitials."""

import matplotlib.pyplot as plt
import numpy as np

from lab import atoms


def panels(count):
    """A figure of `count` square panels, two per row (readable at the README's width), spare ones hidden."""
    rows = -(-count // 2)
    fig, axes = plt.subplots(rows, 2, figsize=(10, 4.6 * rows + 0.6), constrained_layout=True, squeeze=False)
    for ax in axes.flat[count:]:
        ax.axis("off")
    return fig, axes.flat[:count]


def parity_figure(models, s_train, s_test, numbers):
    """Predicted against exact S_f, one panel per model {name: (train, test predictions, penalty)}, with the
    errors of the lesson's `numbers` in the legends."""
    fig, axes = panels(len(models))
    top = 1.1 * max(s_test.max(), max(p.max() for _, p, _ in models.values()))
    k_train, k_test = numbers["train"]["vacancies"], numbers["test"]["vacancies"]
    for ax, (name, (p_train, p_test, _)) in zip(axes, models.items()):
        error = numbers["models"][name]
        ax.plot([0, top], [0, top], color="0.6", lw=1, label="exact = predicted")
        ax.scatter(s_train, p_train, s=14, color="tab:blue",
                   label=f"train ({k_train[0]}-{k_train[1]} vacancies): MAE {error['train_mae']:.2f} $k_B$")
        resampled = error["test_mae_resampled"]
        spread = (f"\n(resampled training sets: median {resampled['median']:.2f}, "
                  f"10-90 % {resampled['p10']:.2f}-{resampled['p90']:.2f})" if resampled else "")
        ax.scatter(s_test, p_test, s=14, color="tab:orange",
                   label=f"test ({k_test[0]}-{k_test[1]} vacancies): MAE {error['test_mae']:.2f} $k_B${spread}")
        ax.set(xlim=(0, top), ylim=(0, top), title=name, xlabel="exact formation entropy $S_f$ ($k_B$)")
        ax.legend(loc="best", fontsize=8)  # the empty corner differs by panel
    for ax in axes[::2]:
        ax.set_ylabel("predicted $S_f$ ($k_B$)")
    fig.suptitle("Synthetic analogue (Finnis-Sinclair Fe, exact harmonic entropies):\n"
                 "extrapolation from small to large vacancy clusters")
    return fig


def error_figure(models, k_test, s_test, k_train):
    """Each model's signed test error against the cluster size (symmetric log), beside the issue's ±0.4 k_B."""
    fig, ax = plt.subplots(figsize=(9.5, 4.5), constrained_layout=True)
    for (name, (_, p_test, _)), marker in zip(models.items(), "osD^"):
        ax.scatter(k_test, p_test - s_test, marker=marker, s=22, label=name)
    for sign in (1, -1):
        ax.axhline(sign * 0.4, color="0.4", ls="--", lw=1, label="issue's target, ±0.4 $k_B$" if sign > 0 else None)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_yscale("symlog", linthresh=0.1)  # both signs, over decades: linear within ±0.1 k_B
    ax.set(xlabel="vacancies in the cluster", ylabel="predicted − exact $S_f$ ($k_B$), symmetric log",
           title="Synthetic analogue: signed test error against cluster size\n"
                 f"(trained on {k_train[0]}-{k_train[1]} vacancies)")
    low, high = ax.get_ylim()
    ax.set_ylim(1.5 * low, 1.5 * high)  # the extreme points off the frame
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))  # beside the axes: no point hidden
    return fig


def cost_figure(cost, slopes):
    """Time per configuration of each stage against the atoms (log-log), with the fitted slopes."""
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    n = np.array(cost["atoms"])
    labels = {"relax": "relaxation (L-BFGS)", "hessian": "Hessian (AD, per-site blocks)",
              "diagonalise": "diagonalisation (eigvalsh)", "descriptor": "descriptor + prediction"}
    theory = {"diagonalise": (3, "theory ∝ N³: dense eigensolver of the 3N × 3N Hessian"),
              "descriptor": (1, "theory ∝ N: a fixed neighbourhood per atom")}
    for stage in atoms.STAGES:
        line, = ax.plot(n, cost[stage], "o-", label=f"{labels[stage]}: slope {slopes[stage]:.2f}")
        if stage in theory:  # drawn through the largest cell's measurement: the asymptote the slopes approach
            power, label = theory[stage]
            ax.plot(n, cost[stage][-1] * (n / n[-1]) ** power, ":", color=line.get_color(), lw=1.5, label=label)
    ax.plot(n, cost["exact"], "k--", label=f"exact entropy, total: slope {slopes['exact']:.2f}")
    ax.set(xscale="log", yscale="log", xlabel="atoms N (log scale)", ylabel="time per configuration (s, log scale)",
           title="Cost of the exact entropy against the linear model (median per cell size, 2-core CPU)")
    ax.set_xticks(n, [str(int(v)) for v in n], minor=False)
    ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.legend(fontsize=8)
    return fig


def finite_size_figure(by_size, fits):
    """S_f per vacancy against 1/N for the same clusters in larger cells, beside their a + b/N fits."""
    fig, ax = plt.subplots(figsize=(6.5, 4.3), constrained_layout=True)
    for k, row in by_size.items():
        n = np.array([d.sites for d in row], float)
        per_vacancy = np.array([d.entropy for d in row]) / k
        fit = (fits[str(k)]["slope"], fits[str(k)]["dilute"])
        grid = np.linspace(0, 1.05 / n.min(), 50)
        line, = ax.plot(1 / n, per_vacancy, "o",
                        label=f"{k} vacanc{'y' if k == 1 else 'ies'}: $S_f/k$ = {fit[1]:.3f} "
                              f"{'-' if fit[0] < 0 else '+'} {abs(fit[0]):.1f}/N")
        ax.plot(grid, np.polyval(fit, grid), "--", lw=1, color=line.get_color())
    ax.set(xlabel="1 / N (lattice sites of the periodic cell)", ylabel="formation entropy per vacancy $S_f/k$ ($k_B$)",
           title="Synthetic analogue: the same cluster in larger cells\n"
                 "(exact values, dashed: a + b/N fits; 1/N = 0 is the dilute limit)")
    ax.legend(fontsize=8)
    return fig


def interstitial_figure(data, predictions, numbers):
    """The harder case's parity plots: vacancy and interstitial clusters, train and test, one panel per model."""
    s_train, interstitial_train, s_test, interstitial_test = data
    fig, axes = panels(len(predictions))
    # exact and predicted, train and test
    every = [s_train, s_test, *(p for pair in predictions.values() for p in pair)]
    top = 1.1 * max(np.max(p) for p in every)
    bottom = min(0.0, 1.1 * min(np.min(p) for p in every))  # a failed extrapolation (negative entropy) stays in view
    for ax, (name, (p_train, p_test)) in zip(axes, predictions.items()):
        error = numbers["models"][name]
        ax.plot([bottom, top], [bottom, top], color="0.6", lw=1, label="exact = predicted")
        for exact, predicted, chosen, colour, label in [
            (s_train, p_train, ~interstitial_train, "tab:blue", "train, vacancies"),
            (s_train, p_train, interstitial_train, "tab:cyan", "train, interstitials"),
            (s_test, p_test, ~interstitial_test, "tab:orange",
             f"test, vacancies: MAE {error['test_mae_vacancies']:.2f} $k_B$"),
            (s_test, p_test, interstitial_test, "tab:red",
             f"test, interstitials: MAE {error['test_mae_interstitials']:.2f} $k_B$"),
        ]:
            ax.scatter(exact[chosen], predicted[chosen], s=14, color=colour, marker="^" if "inter" in label else "o",
                       label=label)
        ax.set(xlim=(bottom, top), ylim=(bottom, top), title=name, xlabel="exact formation entropy $S_f$ ($k_B$)")
        ax.legend(loc="best", fontsize=8)  # the empty corner differs by panel
    for ax in axes[::2]:
        ax.set_ylabel("predicted $S_f$ ($k_B$)")
    fig.suptitle("Synthetic analogue, harder case:\nvacancy and interstitial (<110> dumbbell) clusters together")
    return fig

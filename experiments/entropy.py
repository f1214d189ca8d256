"""Entropy (synthetic analogue): a linear model on summed descriptors predicts vacancy-cluster entropies far
outside its training range.

A synthetic analogue of Lapointe et al., Phys. Rev. Materials 4, 063802 (2020), computed exactly: vacancy
clusters in strained bcc iron (Finnis-Sinclair potential), relaxed with optax's L-BFGS to a force norm of
1e-8 eV/angstrom, their harmonic formation entropy from the Hessian (automatic differentiation) and its
diagonalisation. Ridge regression (penalty by the lab's k-fold cross-validation) on extensive
angular-Fourier-series descriptors is trained on clusters of 1 to 3 vacancies in 432-site cells and
tested on clusters of 10 to 80 in cells of 432 to 1,024 sites, beside two controls: k * s_1 (k vacancies
times the monovacancy value) and the same regression on per-atom averaged (not extensive) descriptors.
Also: the same clusters in cells of 128 to 1,024 sites (the finite-size effect, which sets the training
cells' size), and a harder case with clusters of interstitials (<110> dumbbells) added to both sets.
Always float64: a force norm of 1e-8 is below float32's rounding.
"""

# %%
import numpy as np

from experiments import command_line, loglog_slope, prepare, save, size
from experiments.figures.entropy import (cost_figure, error_figure, finite_size_figure, interstitial_figure,
                                        parity_figure)
from lab import atoms
from lab.atoms import table
from lab.model_selection import bootstrap_errors, mean_absolute_error, scaled_ridge

# Plans of (cubic repeats, defects, configurations, kind): 2 repeats^3 sites per cell. Training vacancy clusters are
# compact or spread (each vacancy within 5 angstrom of another), for varied environments; test ones compact. Training
# cells are as large as the smallest test cell (432 sites): a cluster's S_f in a periodic cell of N sites falls short of
# its dilute value by about 8/N k_B per vacancy (measured: SIZES["finite_size"]), a long-range effect that 5 angstrom
# descriptors cannot see; trained in 128- and 250-site cells, the models under-predicted 80-vacancy clusters by 1-5 k_B.
SIZES = dict(  # full, quick
    train=([*[(6, k, 16, "compact") for k in (1, 2, 3)], *[(6, k, 16, "spread") for k in (2, 3)]],
           [*[(4, k, 4, "compact") for k in (1, 2, 3)], *[(4, k, 4, "spread") for k in (2, 3)]]),
    test=([*[(6, k, 3, "compact") for k in (10, 20, 30)], *[(7, k, 3, "compact") for k in (20, 40, 60)],
           *[(8, k, 2, "compact") for k in (40, 60, 80)]],
          [(5, k, 2, "compact") for k in (10, 20, 30, 40)]),
    # The harder case: clusters of parallel <110> dumbbells (self-interstitials) added to both sets.
    interstitial_train=([(6, k, 8, "interstitial") for k in (1, 2, 3)], [(4, k, 2, "interstitial") for k in (1, 2)]),
    interstitial_test=([*[(7, k, 3, "interstitial") for k in (5, 10)], (8, 15, 3, "interstitial")],
                       [(4, 5, 2, "interstitial")]),
    # The same compact clusters (these sizes, grown in a 432-site cell) in cells of these repeats: finite-size trend.
    finite_size=(((1, 3, 10), (4, 5, 6, 7, 8)), ((1, 3), (3, 4, 5))),
)
STRAIN = 0.01  # strain tensor entries uniform in [-1 %, 1 %]
PENALTIES = np.logspace(-14, 0, 57)
# Ridge (`model_selection.scaled_ridge`): its cross-validation folds are contiguous blocks of the training list, ordered
# by cell, cluster size and shape: each fold holds out whole groups (all the monovacancies of a cell, say), closer to
# extrapolation than shuffled folds (shuffling moves the quick mode's test errors by 0.05-0.2 k_B).
FOLDS = 5
RESAMPLES = 30  # bootstrap resamples of the training set, each refitted with its own cross-validation
RADIAL = len(atoms.RADIAL_CENTRES)
K_S1 = "k * s_1 (k vacancies x monovacancy)"
K_S1_EACH = "k * s_1 (k defects x their kind's single-defect S_f)"


# %%
def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    out = prepare(out, "float64")
    rng = np.random.default_rng(seed)
    train, rejected_train = atoms.sample(size(SIZES, "train", quick), STRAIN, rng)
    test, rejected_test = atoms.sample(size(SIZES, "test", quick), STRAIN, rng)
    s_train, s_test = table(train, "entropy"), table(test, "entropy")
    k_train, k_test = table(train, "vacancies"), table(test, "vacancies")

    by_size = atoms.in_larger_cells(*size(SIZES, "finite_size", quick), rng)
    monovacancies = {d.structure.atoms: d.entropy for d in by_size[1]}
    s_1 = monovacancies[max(monovacancies)]

    models, resampled = {}, {}
    for name, field, columns in [("AFS (radial + angular)", "descriptor", slice(None)),
                                 ("radial only", "descriptor", slice(RADIAL)),
                                 ("per-atom average (not extensive)", "average", slice(None))]:
        features_train, features_test = table(train, field)[:, columns], table(test, field)[:, columns]
        predict, penalty = scaled_ridge(features_train, s_train, PENALTIES, FOLDS)
        models[name] = (predict(features_train), predict(features_test), penalty)
        resampled[name] = bootstrap_errors(features_train, s_train, features_test, s_test, PENALTIES,
                                           np.random.default_rng(seed), RESAMPLES, FOLDS)
    models[K_S1] = (k_train * s_1, k_test * s_1, None)

    errors = {
        name: {"train_mae": mean_absolute_error(p_train, s_train), "test_mae": mean_absolute_error(p_test, s_test),
               "penalty": penalty,
               "penalty_at_grid_edge": penalty in (PENALTIES[0], PENALTIES[-1]) if penalty else None,
               "test_mae_resampled": resampled.get(name),
               "test_max_relative_error": float(np.max(np.abs(p_test - s_test) / s_test)),
               "test_most_negative_error": float(np.min(p_test - s_test))}
        for name, (p_train, p_test, penalty) in models.items()
    }
    cost = atoms.cost_by_size(train + test + [d for row in by_size.values() for d in row])
    described = lambda defects, s, k: {  # noqa: E731 (a set: its cells' sites, clusters' vacancies and entropies)
        "configurations": len(defects), "sites": sorted(set(table(defects, "sites").astype(int).tolist())),
        "vacancies": [int(k.min()), int(k.max())], "entropy_range": [float(s.min()), float(s.max())]}
    numbers = {
        "synthetic_analogue": True, "potential": "Finnis-Sinclair iron (1984)",
        "train": described(train, s_train, k_train), "test": described(test, s_test, k_test),
        "range_ratio": float(np.ptp(s_test) / np.ptp(s_train)), "rejected": rejected_train + rejected_test,
        "monovacancy_entropy_by_atoms": {str(n): s for n, s in monovacancies.items()},
        "cluster_entropy_by_sites": {str(k): {str(d.sites): d.entropy for d in row} for k, row in by_size.items()},
        "finite_size_fits": {str(k): atoms.dilute_fit(row, k) for k, row in by_size.items()},
        "s_1": s_1, "models": errors,
    }
    timings = {"cost_seconds": cost,
               "cost_slopes": {stage: loglog_slope(cost["atoms"], cost[stage]) for stage in (*atoms.STAGES, "exact")},
               "exact_over_descriptor_at_largest": cost["exact"][-1] / cost["descriptor"][-1]}
    numbers["with_interstitials"], mixed = with_interstitials(train, test, s_1, quick, rng)
    figures = {"parity": parity_figure(models, s_train, s_test, numbers),
               "error": error_figure(models, k_test, s_test, numbers["train"]["vacancies"]),
               "cost": cost_figure(cost, timings["cost_slopes"]),
               "finite_size": finite_size_figure(by_size, numbers["finite_size_fits"]),
               "interstitials": interstitial_figure(*mixed, numbers["with_interstitials"])}
    return save(out, "entropy", numbers, figures, timings)


def with_interstitials(train, test, s_1, quick, rng):
    """The harder case: the same models trained and tested with interstitial clusters added to the vacancy ones.

    Returns the numbers (errors per kind of defect, and the control k * s_1 with each kind's own single-defect
    entropy) and, for the figure, the defects and each model's predictions."""
    extra_train, rejected_train = atoms.sample(size(SIZES, "interstitial_train", quick), STRAIN, rng)
    extra_test, rejected_test = atoms.sample(size(SIZES, "interstitial_test", quick), STRAIN, rng)
    train, test = train + extra_train, test + extra_test
    s_train, s_test = table(train, "entropy"), table(test, "entropy")
    count_train, count_test = table(train, "interstitials"), table(test, "interstitials")
    interstitial_train, interstitial_test = count_train > 0, count_test > 0
    singles = s_train[count_train == 1]
    per_defect = s_train[interstitial_train] / count_train[interstitial_train]
    s_1_interstitial = float(np.mean(singles if singles.size else per_defect))  # every single one rejected: per defect
    cluster_size = lambda defects: table(defects, "vacancies") + table(defects, "interstitials")
    control = lambda defects, interstitial: cluster_size(defects) * np.where(interstitial, s_1_interstitial, s_1)
    predictions = {K_S1_EACH: (control(train, interstitial_train), control(test, interstitial_test))}
    for name, columns in [("AFS (radial + angular)", slice(None)), ("radial only", slice(RADIAL))]:
        predict, _ = scaled_ridge(table(train, "descriptor")[:, columns], s_train, PENALTIES, FOLDS)
        predictions[name] = tuple(predict(table(defects, "descriptor")[:, columns]) for defects in (train, test))
    test_mae = lambda p_test, rows: mean_absolute_error(p_test[rows], s_test[rows])  # noqa: E731 (one kind's rows)
    errors = {name: {"train_mae": mean_absolute_error(p_train, s_train),
                     "test_mae_vacancies": test_mae(p_test, ~interstitial_test),
                     "test_mae_interstitials": test_mae(p_test, interstitial_test),
                     "lowest_test_prediction": float(np.min(p_test))}  # below 0: a negative entropy
              for name, (p_train, p_test) in predictions.items()}
    described = lambda extra, s: {  # noqa: E731 (the interstitial clusters added to a set: their sizes, entropies)
        "configurations": len(extra), "sizes": sorted(set(cluster_size(extra).astype(int).tolist())),
        "entropy_range": [float(s.min()), float(s.max())]}
    numbers = {"interstitials_train": described(extra_train, s_train[interstitial_train]),
               "interstitials_test": described(extra_test, s_test[interstitial_test]),
               "s_1_interstitial": s_1_interstitial, "rejected": rejected_train + rejected_test, "models": errors}
    return numbers, ((s_train, interstitial_train, s_test, interstitial_test), predictions)


if __name__ == "__main__":
    command_line(reproduce, __doc__)

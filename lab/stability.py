"""The measured stability edge and best learning rate of a run, beside 2/L and 2/(L + mu).

For every setting of the other axes (kappa, seed, ...) the learning rate is searched
per lane, all lanes at once, inside one compiled call:

* the edge, the largest stable learning rate, by bisection on a geometric bracket to a
  relative width `rtol` (0.1 % by default) or finer. What *stable* means is the
  `rule` argument, by default the run's declared `stability_rule` (below);
  an edge the bracket does not hold is NaN, never the bracket's end;
* the best learning rate, the one with the smallest measured contraction
  (`Outcome.measured_rate`), by golden-section search (the contraction is
  unimodal in the learning rate for gradient descent on a quadratic).

The search runs `run.near_optimum()`: the lab's runs start there at a* plus
every unit eigenvector (times `runs.PROBE` off the quadratics), so every
mode is excited and the measured contraction is the worst case rather than
that of a lucky start.

Two rules for stable:

* `bounded` (quadratics): not diverged and the final gap at most the initial
  one. Above 2/L the top eigen-component grows, so with enough steps the gap
  ends above where it began.
* `converging` (logistic, Huber: bounded gradients): not diverged and either the
  gap reached the run's tolerance (ending at most where it started) or it still
  halved over the second half of the run. Logistic loss grows at most linearly
  (softplus is Lipschitz), so a learning rate past the edge settles into an oscillation that neither diverges nor
  necessarily ends above its start; it does not converge, and this rule says so.
  Just below 2/L the gap halves over T/2 steps once the rate is below
  2^(-1/T): the measured edge is low by about 0.35/T (0.07 % at T = 500).

The search varies `learning_rate_over_edge`, the step size as a fraction of each
run's 2/L, and reports the absolute `edge_learning_rate` and `best_learning_rate` beside it.
"""

import functools
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from lab import _validate, descent, runs, spectrum
from lab.sweep import Results, checked_axes, describe, grid_vmap, split_axes, warn_unconverged

GOLDEN = (math.sqrt(5) - 1) / 2
NEEDED = ("diverged", "initial_gap", "final_gap", "gap", "iterations", "measured_rate", "rate_resolution", "L", "mu",
          "condition_number", "learning_rate", "learning_rate_over_edge", "theory_edge_learning_rate", "theory_kind",
          "reference_status")


def edge_and_best(run, axes: dict, *, rule=None, edge_bracket=(0.5, 8.0), best_bracket=(0.05, 1.0),
                  rtol: float = 1e-3, best_iterations: int = 24, find_best: bool = True) -> Results:
    """Measured largest stable learning rate and best one at every point of the grid of `axes` (no learning rate axis).

    run: a `lab.runs.Run` returning an `Outcome`, taking `learning_rate_over_edge`;
        `run.near_optimum()` is searched (started next to a*), and the
        brackets are fractions of its 2/L.
    rule: 'bounded', 'converging', or a function outcome -> bool; default
        the run's `stability_rule`. Recorded in the results' config.
    edge_bracket: where the edge is searched, (0.5, 8) x 2/L by default,
        which holds gradient descent's edge 1, heavy ball's 1 + beta < 2 and
        Nesterov's (1 + beta)/(1 + 2 beta) > 2/3 (geometric bisection: a wide
        bracket costs a few iterations). Where it does not hold a stable low
        end and an unstable high end the edge is not measured: `edge` and
        `edge_learning_rate` are NaN, `bracketed` False, `edge_above` says on which
        side it lies, and a warning says so.
    best_bracket: where the best learning rate is searched (golden section on the measured rate). Where the search
        ends at one of its ends, or its minimum's rate is not lower than the rate at both ends by more than the
        rates' resolution (`runs.rate_resolution`, at least 1e3 eps: the rate still falls beyond an end, within
        what the runs can tell), the best learning rate is not measured either: `best`,
        `best_learning_rate` and `best_rate` are NaN, `best_bracketed` False, `best_above` says on which side, and a
        warning says so.
    find_best: False skips the best learning rate's search, where only the edge is wanted (mini-batches, Adam: a noisy
        or unmodelled rate): the best outputs are NaN, nothing is warned about them, each iteration runs one
        step instead of two, and there are only the bisections rtol asks for (with the best learning rate, the two
        searches share best_iterations iterations): the edge agrees with find_best=True's to rtol.
    Returns `Results` over `axes` with outputs: edge, best (fractions of 2/L,
    as learning_rate_over_edge), edge_learning_rate and best_learning_rate (absolute), best_rate (measured
    contraction at the best learning rate), bracketed, edge_above, best_bracketed, best_above, edge_bound and best_bound
    (where a search ended at an end of its bracket, that end, which the edge or best lies beyond: NaN where
    measured), and theory:
    theory_edge_learning_rate (the optimizer's edge, NaN without theory), theory_kind (`lab.runs.THEORY_KINDS`),
    gd_edge_learning_rate = 2/L, theory_best_learning_rate = 2/(L + mu) and theory_rate =
    (kappa - 1)/(kappa + 1) (gradient descent's; NaN for other optimizers, and where mu is not resolved: a
    singular Hessian, or kappa beyond `spectrum.largest_resolved_kappa`),
    L, mu, condition_number.
    """
    run = runs.as_run(run)
    if any(name in axes for name in runs.LEARNING_RATE_AXES):
        raise ValueError("axes must not contain a step size (learning_rate, learning_rate_over_edge): it is what "
                         "edge_and_best searches.")
    best_iterations = _validate.count("best_iterations", best_iterations)
    for name, bracket in (("edge_bracket", edge_bracket), ("best_bracket", best_bracket)):
        if np.shape(bracket) != (2,):
            raise ValueError(f"{name} must be a pair (low, high) in units of 2/L, got {bracket!r}.")
    lo, hi = edge_bracket
    if not (0 < lo < hi < np.inf and 0 < best_bracket[0] < best_bracket[1] < np.inf):
        raise ValueError(f"brackets must be increasing finite positive pairs, got edge {edge_bracket}, "
                         f"best {best_bracket}.")
    if not 0 < rtol < 1:
        raise ValueError(f"rtol must be in (0, 1), got {rtol!r}.")
    find_best = _validate.flag("find_best", find_best)
    rule_name, stable = _rule(run, rule)
    run = run.near_optimum()
    axes = checked_axes(run, axes)  # the runs next to a*: what the search runs
    runs.require_outcome(run, {"learning_rate_over_edge": 1.0, **{name: values[0] for name, values in axes.items()}},
                         NEEDED)
    bisections = max(1, math.ceil(math.log2(math.log(hi / lo) / math.log1p(rtol))))
    mapped, fixed = split_axes(axes)
    iterations = max(bisections, best_iterations) if find_best else bisections
    real = jnp.result_type(float)  # integer brackets, (1, 4), would make the bisection's carry integer
    outputs = _search(run, stable, mapped, iterations, find_best, jnp.asarray(edge_bracket, real),
                      jnp.asarray(best_bracket, real), {name: jnp.asarray(v) for name, v in fixed.items()},
                      *[jnp.asarray(axes[name]) for name in mapped])
    shape = tuple(len(values) for values in axes.values())
    outputs = {name: np.asarray(value).reshape(shape) for name, value in outputs.items()}
    warn_unconverged(outputs)
    missed = int(np.sum(~outputs["bracketed"]))
    if missed:
        above = int(np.sum(~outputs["bracketed"] & outputs["edge_above"]))
        warnings.warn(f"the edge was not bracketed at {missed} of {outputs['bracketed'].size} point(s) "
                      f"({above} stable at the top of edge_bracket={tuple(edge_bracket)}, {missed - above} unstable "
                      f"at its bottom): reported as NaN. Widen edge_bracket, check the rule ({rule_name!r}; "
                      "'converging' needs runs long enough for the slowest mode to halve the gap at the bracket's "
                      "bottom: raise num_steps), or the optimizer has no edge in these units (Adam).",
                      stacklevel=2)
    _warn_if_far_from_theory(outputs, rule_name)
    momentum = np.isin(outputs["theory_kind"], MOMENTUM_KINDS)
    if find_best and momentum.any():
        warnings.warn(f"no best learning rate for {run.optimizer_name} at {int(momentum.sum())} of {momentum.size} "
                      "point(s): at a fixed momentum the rate is sqrt(beta) over much of best_bracket, a plateau whose "
                      "minimum would be the measured rates' noise; reported as NaN. Pass find_best=False.",
                      stacklevel=2)
    missed = int(np.sum(~outputs["best_bracketed"] & ~momentum)) if find_best else 0
    if missed:
        above = int(np.sum(~outputs["best_bracketed"] & outputs["best_above"]))
        unmeasured = int(np.sum(~outputs["best_bracketed"] & np.isnan(outputs["best_bound"]) & ~momentum))
        below = missed - above - unmeasured
        warnings.warn(f"the best learning rate was not bracketed at {missed} of {outputs['best_bracketed'].size} "
                      f"point(s) ({above} at the top of best_bracket={tuple(best_bracket)}, {below} at its bottom: "
                      "the rate still falls beyond"
                      + (f"; {unmeasured} where no rate could be measured at either end: the runs "
                         "diverged or never left the rounding floor" if unmeasured else "")
                      + "): reported as NaN. Widen best_bracket.", stacklevel=2)
    config = {"rtol": rtol, "edge_bracket": list(edge_bracket), "best_bracket": list(best_bracket),
              "stability_rule": rule_name, "find_best": bool(find_best)}
    return Results(axes, outputs, describe(run, axes, jax.devices(), config), run.optimizer_name, run.problem_name)


THEORY_DEVIATION = 0.1  # a measured edge further than this from the theory edge (relative) is warned about
# The theory kinds whose rate has a plateau, not a best learning rate, as `runs.THEORY_KINDS` indices.
MOMENTUM_KINDS = tuple(runs.THEORY_KINDS.index(kind) for kind in ("heavy ball", "nesterov"))


def _warn_if_far_from_theory(outputs, rule_name):
    """Next to a* the local quadratic model holds, so a measured edge far from the optimizer's theory edge (2/L
    for gradient descent), or a best learning rate above the measured edge, says the rule misread the runs (runs too
    short for 'converging') rather than something about the criterion; a best learning rate far from gradient
    descent's 2/(L + mu), that the rates were read before they settled: warned, the numbers are kept."""
    _warn_if_best_far_from_theory(outputs)
    edge, theory = outputs["edge_learning_rate"], outputs["theory_edge_learning_rate"]
    known = np.isfinite(theory) & outputs["bracketed"]  # no theory (Adam, mini-batches): nothing to compare
    far, worst = _far(edge, theory, known)
    with np.errstate(invalid="ignore"):
        crossed = known & outputs["best_bracketed"] & (outputs["best_learning_rate"] > edge)
    if not (far.any() or crossed.any()):
        return
    found = [f"the measured edge is {worst:+.0%} from the theory edge (more than {THEORY_DEVIATION:.0%} at "
             f"{int(far.sum())} of {far.size} point(s))"] if far.any() else []
    found += [f"the best learning rate lies above the measured edge at {int(crossed.sum())} of {far.size} "
              "point(s)"] if crossed.any() else []
    warnings.warn(f"{' and '.join(found)}: next to a* the local quadratic model gives the theory edge, so the rule "
                  f"({rule_name!r}) likely misread the runs. 'converging' needs runs long enough for the slowest mode "
                  "to halve the gap: raise num_steps (or use 'bounded' where the loss blows up past the edge).",
                  stacklevel=3)


def _warn_if_best_far_from_theory(outputs):
    """The rate is read over steps T/2 to T, where at a large kappa the modes just above mu may still be fading:
    the golden section then minimises their transient, not the rate, and lands far from 2/(L + mu) (kappa 1e4, 4
    features, 1000 steps: 0.27 x 2/(L + mu); 2000 steps: 0.9997)."""
    best, theory = outputs["best_learning_rate"], outputs["theory_best_learning_rate"]
    far, worst = _far(best, theory, np.isfinite(theory) & outputs["best_bracketed"])  # gradient descent's theory
    if far.any():
        warnings.warn(f"the measured best learning rate is {worst:+.0%} from 2/(L + mu) (more than "
                      f"{THEORY_DEVIATION:.0%} at {int(far.sum())} of {far.size} point(s)): next to a* the local "
                      "quadratic model gives 2/(L + mu), so the rates, read over the runs' second half, had not "
                      "settled (the modes just above mu still fading at a large kappa): raise num_steps.",
                      stacklevel=4)


def _far(measured, theory, known):
    """(where measured / theory - 1 exceeds THEORY_DEVIATION in size, that signed deviation at its largest) over the
    points `known` to have both."""
    with np.errstate(invalid="ignore", divide="ignore"):
        deviation = np.where(known, measured / theory - 1, 0.0)
    return np.abs(deviation) > THEORY_DEVIATION, float(deviation.flat[np.argmax(np.abs(deviation))])


def _rule(run, rule):
    """(name, function) of the stability rule: the argument, else the run's declared one."""
    rule = run.stability_rule if rule is None else rule
    if callable(rule):
        return getattr(rule, "__name__", "custom"), rule
    if rule not in RULES:
        raise ValueError(f"rule must be one of {tuple(RULES)} or a function outcome -> bool, got {rule!r}.")
    return rule, RULES[rule]


def bounded(outcome: dict):
    """Stable for a quadratic: not diverged, and the final gap at most the initial one."""
    return ~outcome["diverged"] & (outcome["final_gap"] <= outcome["initial_gap"])


def converging(outcome: dict):
    """Stable for a bounded-growth criterion: not diverged, and the gap reached the tolerance (ending at most where
    it started: a gap of two float32 ulps of f* that rounded to 0 once and then grew is no convergence) or still
    halves.

    "Still halves": the final gap is at most half the gap T/2 steps earlier,
    compared at the same parity, so that an oscillation of period two is
    compared with itself and counts as not converging.
    """
    gap = outcome["gap"]
    last = gap.shape[-1] - 1
    earlier = gap[..., last - 2 * (last // 4)]
    reached = (outcome["iterations"] >= 0) & (outcome["final_gap"] <= outcome["initial_gap"])
    return ~outcome["diverged"] & (reached | (outcome["final_gap"] <= earlier / 2))


RULES = {"bounded": bounded, "converging": converging}



@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _search(run, stable, names, iterations, find_best, edge_bracket, best_bracket, fixed, *values):
    """Bisection and golden section side by side: each iteration runs the two new steps as one batch (the
    bisection's alone without `find_best`).

    The run is traced three times (the first four points, the loop body, the
    best learning rate; without `find_best` twice: the bracket's ends and the loop body),
    however many iterations, which keeps compile time down; the run's problem
    once per setting (`Run.at`), not in the loop.
    """

    def per_point(*point):
        at_learning_rate = run.at(**dict(zip(names, point)), **fixed)  # the setting's problem, built once
        evaluate = jax.vmap(lambda c: runs.outputs_of(at_learning_rate(learning_rate_over_edge=c)))
        lo, hi = edge_bracket[0], edge_bracket[1]
        a, b = best_bracket[0], best_bracket[1]
        x1, x2 = b - GOLDEN * (b - a), a + GOLDEN * (b - a)
        points = jnp.stack([lo, hi, x1, x2] if find_best else [lo, hi])
        first = evaluate(points)
        stable_first = jnp.asarray(stable(first))
        if stable_first.dtype != bool or stable_first.shape != points.shape:  # static: refused before any run
            raise ValueError(f"rule must return one boolean (stable or not) per run, shape {points.shape} for a batch "
                             f"of {points.size} runs, got dtype {stable_first.dtype} and shape {stable_first.shape}: "
                             "compare run by run, e.g. lambda outcome: outcome['final_gap'] < outcome['initial_gap'].")
        bracketed = stable_first[0] & ~stable_first[1]

        def step(_, state):
            lo, hi, a, b, x1, x2, f1, f2 = state
            mid = jnp.sqrt(lo * hi)  # bisection on a geometric scale
            if not find_best:
                mid_stable = stable(evaluate(mid[None]))[0]
                return jnp.where(mid_stable, mid, lo), jnp.where(mid_stable, hi, mid), a, b, x1, x2, f1, f2
            left = f1 <= f2  # golden section: the minimum lies in [a, x2]
            a, b = jnp.where(left, a, x1), jnp.where(left, x2, b)
            new = jnp.where(left, b - GOLDEN * (b - a), a + GOLDEN * (b - a))
            outcome = evaluate(jnp.stack([mid, new]))
            mid_stable, f_new = stable(outcome)[0], outcome["measured_rate"][1]
            lo, hi = jnp.where(mid_stable, mid, lo), jnp.where(mid_stable, hi, mid)
            x1, x2 = jnp.where(left, new, x2), jnp.where(left, x1, new)
            f1, f2 = jnp.where(left, f_new, f2), jnp.where(left, f1, f_new)
            return lo, hi, a, b, x1, x2, f1, f2

        rates = first["measured_rate"][2:] if find_best else jnp.zeros(2, first["measured_rate"].dtype)
        lo, hi, a, b, *_ = jax.lax.fori_loop(0, iterations, step, (lo, hi, a, b, x1, x2, *rates))
        edge, best = jnp.where(bracketed, jnp.sqrt(lo * hi), jnp.nan), (a + b) / 2
        # The theory and the run's 2/L at the best learning rate, or at the edge bracket's low end: they do not
        # depend on it.
        if find_best:
            last = evaluate(jnp.stack([best, best_bracket[0], best_bracket[1]]))
            # Measured only where the search moved both ends of best_bracket and its minimum beats the rate at both
            # by more than the measured rates' resolution (`runs.rate_resolution`, at least 1e3 eps): a rate still
            # falling at an end (noise near it can move that end a little) puts the best there or beyond.
            ends = jnp.where(jnp.isnan(last["measured_rate"][1:]), jnp.inf, last["measured_rate"][1:])
            noise = jnp.maximum(descent.ROUNDING * jnp.finfo(ends.dtype).eps, jnp.nanmax(last["rate_resolution"]))
            # Momentum at a fixed beta contracts by sqrt(beta) over much of the bracket: a plateau, whose minimum the
            # golden section finds in the measured rates' noise. No best learning rate there (MOMENTUM_KINDS).
            momentum = jnp.isin(last["theory_kind"][0], jnp.asarray(MOMENTUM_KINDS, jnp.int32))
            best_bracketed = ((a > best_bracket[0]) & (b < best_bracket[1]) & ~momentum
                              & (last["measured_rate"][0] < jnp.min(ends) * (1 - noise)))
            measurable = jnp.isfinite(jnp.min(ends)) & ~momentum  # no rate at either end: no side to report
            best_above = ~best_bracketed & (ends[1] <= ends[0]) & measurable
        else:
            last, best_bracketed = first, jnp.zeros((), bool)
            measurable = best_above = best_bracketed
        at_best = {name: x[0] for name, x in last.items()}
        best = jnp.where(best_bracketed, best, jnp.nan)
        L, mu, kappa = at_best["L"], at_best["mu"], at_best["condition_number"]
        unit = (at_best["learning_rate"] / at_best["learning_rate_over_edge"]).astype(best.dtype)  # the run's 2/L
        # gradient descent's best learning rate and rate need a mu the dtype resolves: along a singular Hessian's
        # null space f is flat and no run moves, and 2/(L + mu) at a rounding mu of 1e-16 L read as 2/L
        plain = ((at_best["theory_kind"] == runs.THEORY_KINDS.index("gradient descent")) & (mu > 0)
                 & (kappa <= spectrum.largest_resolved_kappa(kappa.dtype)))
        return dict(
            edge=edge, best=best, edge_learning_rate=edge * unit,
            best_learning_rate=jnp.where(best_bracketed, at_best["learning_rate"], jnp.nan),
            best_rate=jnp.where(best_bracketed, at_best["measured_rate"], jnp.nan), bracketed=bracketed,
            edge_above=stable_first[1], best_bracketed=best_bracketed, best_above=best_above,
            edge_bound=jnp.where(bracketed, jnp.nan, jnp.where(stable_first[1], edge_bracket[1], edge_bracket[0])),
            best_bound=jnp.where(best_bracketed | ~measurable, jnp.nan,
                                 jnp.where(best_above, best_bracket[1], best_bracket[0])),
            theory_edge_learning_rate=at_best["theory_edge_learning_rate"], theory_kind=at_best["theory_kind"],
            gd_edge_learning_rate=spectrum.stability_threshold(L),
            theory_best_learning_rate=jnp.where(plain, spectrum.best_learning_rate(L, mu), jnp.nan),
            theory_rate=jnp.where(plain, spectrum.optimal_rate(kappa), jnp.nan),
            L=L, mu=mu, condition_number=kappa, reference_status=at_best["reference_status"],
        )

    return grid_vmap(per_point, len(names))(*values)

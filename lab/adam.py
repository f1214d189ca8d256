"""Adam at its edge: Adam with a frozen preconditioner, which is heavy ball on P^-1 H, and its threshold.

With its preconditioner P (a positive vector, Adam's sqrt(nu) + eps) frozen and
without bias correction, Adam's momentum m <- b1 m + (1 - b1) g with
a <- a - eta m / P is heavy ball with learning rate eta (1 - b1) and momentum b1 on the
preconditioned Hessian P^-1 H: on a quadratic it converges iff

    lambda_max(P^-1 H) < (2 + 2 b1) / ((1 - b1) eta)    (38 / eta at b1 = 0.9)

(Cohen et al., "Adaptive gradient methods at the edge of stability", 2022).
optax's Adam divides m by 1 - b1^t (bias correction): its first steps are up
to 1 / (1 - b1) times larger than the asymptotic ones, a transient that the
threshold above does not see.
"""

import jax
import jax.numpy as jnp
import optax

from lab import _validate, linalg


def frozen_adam(learning_rate, b1=0.9, preconditioner=1.0, debias: bool = False) -> optax.GradientTransformation:
    """Adam's update with P = `preconditioner` frozen: m <- b1 m + (1 - b1) g, a <- a - learning_rate m / P.

    debias: divide m by 1 - b1^t as optax's Adam does. `preconditioner` is a
    scalar or a (P,) array, positive.
    """
    _validate.one_learning_rate("learning_rate", learning_rate)
    _validate.hyper_parameters({"b1": b1})
    _positive("preconditioner", preconditioner, "it divides the update")
    debias = _validate.flag("debias", debias)

    def scale(updates, params=None):
        def one(update):
            if jnp.ndim(preconditioner) and jnp.shape(preconditioner) != update.shape:  # shapes are static: traced too
                raise ValueError(f"preconditioner has shape {jnp.shape(preconditioner)}, "
                                 f"the parameters {update.shape}: "
                                 "give one P per parameter, or a scalar (it would broadcast into another matrix).")
            return -learning_rate * update / preconditioner

        return jax.tree_util.tree_map(one, updates)

    return optax.chain(optax.ema(b1, debias=debias), optax.stateless(scale))


def threshold(preconditioned_sharpness, b1):
    """(2 + 2 b1) / ((1 - b1) lambda_max(P^-1 H)): the largest learning rate at which frozen-preconditioner Adam
    (without bias correction) converges on a quadratic with that preconditioned sharpness."""
    _positive("preconditioned_sharpness", preconditioned_sharpness, "lambda_max(P^-1 H) of a convex problem")
    _validate.hyper_parameters({"b1": b1})
    return _edge(preconditioned_sharpness, b1)


def sharpness_threshold(learning_rate, b1):
    """(2 + 2 b1) / ((1 - b1) learning_rate): the preconditioned sharpness at which Adam at that learning rate
    sits on its edge (38 / learning_rate at b1 = 0.9): the same formula, read the other way."""
    _validate.learning_rate("learning_rate", learning_rate)
    _validate.hyper_parameters({"b1": b1})
    return _edge(learning_rate, b1)


def preconditioner(opt_state, b2, eps, eps_root=0.0):
    """P = sqrt(nu_hat + eps_root) + eps from the state of `optax.adam(..., b2=b2, eps=eps, eps_root=eps_root)`
    (nu_hat = nu / (1 - b2^count); before the first step, count = 0 and nu = 0: P = sqrt(eps_root) + eps). b2, eps
    and eps_root must be those `optax.adam` was built with: the state does not hold them. optax's adamax, yogi and
    radam keep a state of the same type (not told apart here) whose P is another: nu + eps for adamax, with no square
    root and no bias correction (P off by up to 14x). Pass Adam's state only."""
    adam_state = opt_state[0] if isinstance(opt_state, tuple) and opt_state else None
    if not isinstance(adam_state, optax.ScaleByAdamState):  # optax.adam is chain(scale_by_adam, scale_by_learning_rate)
        raise ValueError(f"opt_state must be the state of optax.adam(...) (its first part a ScaleByAdamState), got "
                         f"{type(opt_state).__name__}.")
    _validate.real_values("b2", b2, lambda v: (v >= 0) & (v < 1), "must be in [0, 1) (Adam's second-moment decay)")
    _validate.real_values("eps", eps, lambda v: v >= 0, "must be >= 0 (Adam's eps)")
    _validate.real_values("eps_root", eps_root, lambda v: v >= 0, "must be >= 0 (Adam's eps_root)")
    for name, value in (("b2", b2), ("eps", eps), ("eps_root", eps_root)):
        if jnp.ndim(value):
            raise ValueError(f"{name} must be one number, that optax.adam was built with; "
                             f"got shape {jnp.shape(value)}.")
    count = jnp.maximum(adam_state.count, 1).astype(adam_state.nu.dtype)
    return jnp.sqrt(adam_state.nu / (1 - b2**count) + eps_root) + eps


def preconditioned_sharpness(hessian, preconditioner):
    """lambda_max(P^-1 H) = lambda_max(P^-1/2 H P^-1/2) for a symmetric (P, P) Hessian and a positive (P,) (or
    scalar) preconditioner."""
    hessian = jnp.asarray(hessian)
    if hessian.ndim != 2 or hessian.shape[0] != hessian.shape[1] or hessian.shape[0] == 0:
        raise ValueError(f"hessian must be a square (P, P) matrix, P >= 1, got shape {hessian.shape}.")
    if not jnp.issubdtype(hessian.dtype, jnp.floating):
        raise ValueError(f"hessian must hold floats, got {hessian.dtype}: the Hessian of a criterion is one.")
    if _validate.is_concrete(hessian):  # asymmetric beyond rounding: not a Hessian (eigvalsh reads one triangle)
        _validate.symmetric("hessian", hessian, "pass the Hessian itself, (P, P) and symmetric")
    _positive("preconditioner", preconditioner, "it divides the update")
    if jnp.ndim(preconditioner) and jnp.shape(preconditioner) != hessian.shape[:1]:
        raise ValueError(f"preconditioner has shape {jnp.shape(preconditioner)}, the Hessian {hessian.shape}: give "
                         f"one P per parameter, ({hessian.shape[0]},), or a scalar.")
    preconditioner = jnp.broadcast_to(jnp.asarray(preconditioner), hessian.shape[:1])
    scale = 1 / jnp.sqrt(preconditioner)
    top = linalg.eigvalsh(scale[:, None] * (hessian + hessian.T) / 2 * scale[None, :])[-1]
    return jnp.where(jnp.all(jnp.isfinite(hessian)), top, jnp.nan)  # traced NaN: eigvalsh would read past it


def _edge(x, b1):
    """(2 + 2 b1) / ((1 - b1) x): symmetric in the learning rate and the preconditioned sharpness."""
    x, b1 = jnp.asarray(x), jnp.asarray(b1)  # lists as arrays
    return (2.0 + 2.0 * b1) / ((1.0 - b1) * x)


def _positive(name, value, what):
    _validate.real_values(name, value, lambda v: v > 0, f"must be > 0 ({what})")

"""Eager checks at the public API: clear ValueErrors that name the argument and the fix.

Values are checked only when they are concrete (outside `jit`/`vmap`); shapes
and dtypes are static, so they are checked under tracing too. A sweep that
calls a public function on traced values therefore pays nothing at run time.
"""

import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(*values) -> bool:
    """True when every leaf holds numbers to inspect: no JAX tracer, and no stand-in that JAX rebuilds pytrees
    with (the shape-only leaves of a lowered or compiled call)."""
    return all(isinstance(v, (np.ndarray, np.generic, jax.Array, int, float, complex, bool, str))
               and not isinstance(v, jax.core.Tracer) for v in jax.tree_util.tree_leaves(values))


def staged() -> bool:
    """Inside a `jit` trace, where even an operation on constants is staged out (its result a tracer): the eager
    checks that compute something (a criterion's value, a solve's status) stand aside there."""
    return isinstance(jnp.zeros(()) + 0, jax.core.Tracer)


def as_float_array(name: str, value, ndim: int):
    """`value` as a floating JAX array of rank `ndim`; integers and bools become the default float."""
    try:
        if isinstance(value, (list, tuple)):
            value = np.asarray(value)
        elif hasattr(value, "dtypes") or not isinstance(getattr(value, "dtype", np.dtype(float)), np.dtype):
            kinds = [getattr(d, "kind", "O") for d in (value.dtypes if hasattr(value, "columns") else [value.dtype])]
            value = np.asarray(value)  # pandas' extension dtypes (Int64, Float64, category) and frames of them
            if value.dtype == object and all(kind in "iufb" for kind in kinds):  # numbers, not text
                try:
                    value = value.astype(float)  # pandas' nullable numbers without a missing value
                except (TypeError, ValueError):
                    pass  # refused below, as not numbers
        dtype = getattr(value, "dtype", None)
        if dtype is None:
            value = jnp.asarray(value)
            dtype = value.dtype
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} is not a rectangular numeric array ({error}): pass an array of shape "
                         f"{_SHAPES.get(ndim, ndim)}.") from None
    if not _is_numeric(dtype):
        raise ValueError(f"{name} has dtype {dtype}, not numbers: convert it first, "
                         f"e.g. np.asarray({name}, dtype=float).")
    if jnp.issubdtype(dtype, jnp.complexfloating):
        raise ValueError(f"{name} is complex ({dtype}); the lab works on real data: pass its real part.")
    if not jnp.issubdtype(dtype, jnp.floating):
        value = jnp.asarray(value, dtype=jnp.result_type(float))
    elif jnp.dtype(dtype).itemsize < 4:
        raise ValueError(f"{name} has dtype {dtype}: the lab computes in float32 or float64 (LAPACK, which finds the "
                         f"optimum, has no {dtype}; its 3 digits would drown the measurements): pass "
                         f"{name}.astype(np.float32).")
    value = jnp.asarray(value)
    if value.ndim != ndim:
        hint = {1: "flatten it (y.ravel()) if it is a column",
                2: "reshape it to (N, D), e.g. X[:, None] for one feature"}
        raise ValueError(f"{name} must be {ndim}-D, got shape {value.shape}: {hint.get(ndim, '')}.")
    if value.size == 0:
        raise ValueError(f"{name} is empty (shape {value.shape}): give at least "
                         f"{'one sample and one feature' if ndim == 2 else 'one value'}.")
    if is_concrete(value) and not np.all(np.isfinite(np.asarray(value))):
        bad = int(np.sum(~np.isfinite(np.asarray(value))))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s): remove or impute them first.")
    return value


_SHAPES = {1: "(N,)", 2: "(N, D)"}


def _is_numeric(dtype) -> bool:
    """Booleans, integers, floats (bfloat16 included) and complex numbers; not strings, objects or dates."""
    return any(jnp.issubdtype(dtype, kind) for kind in (jnp.bool_, jnp.integer, jnp.floating, jnp.complexfloating))


def is_real_number_dtype(dtype) -> bool:
    """Integers and floats (bfloat16 included): not booleans, complex numbers, strings or objects."""
    return bool(jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating))


def features_and_targets(X, y, names=("X", "y")):
    """Check a feature matrix X (N, D) and targets y (N,) and return them as float arrays of one dtype; `names`:
    what the caller calls them."""
    X = as_float_array(names[0], X, 2)
    y = as_float_array(names[1], y, 1) if getattr(y, "ndim", 1) != 2 else _column_error(y, names[1])
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{names[0]} and {names[1]} disagree on the number of samples: {names[0]} has {X.shape[0]} "
                         f"rows, {names[1]} has {y.shape[0]}.")
    dtype = jnp.promote_types(X.dtype, y.dtype)
    return X.astype(dtype), y.astype(dtype)


def _column_error(y, name="y"):
    raise ValueError(
        f"{name} must be 1-D of shape (N,), got shape {y.shape}: pass {name}.ravel(). "
        "(A column (N, 1) would broadcast against (N,) predictions into an (N, N) matrix.)"
    )


def binary_labels(y):
    """Check that the labels y are exactly 0 or 1 (when concrete)."""
    if is_concrete(y):
        values = np.unique(np.asarray(y))
        if not np.all(np.isin(values, (0.0, 1.0))):
            raise ValueError(
                f"y must hold binary labels 0 and 1, got values {values[:5]}{'...' if values.size > 5 else ''}: "
                "encode the positive class as 1 and the other as 0."
            )
        if values.size < 2:
            raise ValueError(f"y holds only the label {values[0]:g}: logistic regression needs both classes 0 and 1.")
    return y


def nonnegative(name: str, value, zero: str = "no penalty"):
    """A real scalar >= 0 (when concrete), e.g. a penalty weight; `zero` says what 0 means."""
    return _scalar(name, value, lambda v: v >= 0, f"must be >= 0 (0 means {zero})")


def positive(name: str, value):
    """A real scalar > 0 (when concrete), e.g. a learning rate."""
    return _scalar(name, value, lambda v: v > 0, "must be > 0")


def at_least_one(name: str, value):
    """A real scalar >= 1 (when concrete), e.g. a condition number."""
    return _scalar(name, value, lambda v: v >= 1, "must be >= 1 (1 is a perfectly conditioned problem)")


def real_values(name: str, value, ok, requirement: str, nan_ok: bool = False):
    """Real numbers of any shape, all finite and `ok` (when concrete; traced values pass): a ValueError
    naming `name` and `requirement` otherwise (NaN passes with `nan_ok`). E.g. the curvatures and momenta of
    `lab.spectrum`'s formulas."""
    if is_concrete(value):
        try:
            array = np.asarray(value)
        except (TypeError, ValueError):
            array = np.asarray(None)
        if not _is_numeric(array.dtype) or jnp.issubdtype(array.dtype, jnp.complexfloating):
            raise ValueError(f"{name} must be a real number or an array of them, got {value!r}.")
        array = array.astype(float)
        if not np.all((np.isfinite(array) & ok(array)) | (nan_ok & np.isnan(array))):
            raise ValueError(f"{name} {requirement}, got {value!r}.")
    return value


def _scalar(name, value, ok, requirement):
    if is_concrete(value):
        array = np.asarray(value)
        if not _is_numeric(array.dtype) or jnp.issubdtype(array.dtype, jnp.complexfloating):
            raise ValueError(f"{name} must be a real number, got {value!r}.")
        if array.ndim != 0:
            raise ValueError(f"{name} must be a scalar, got shape {array.shape}.")
        if not np.isfinite(array) or not ok(float(array)):
            raise ValueError(f"{name} {requirement}, got {float(array)!r}.")
    return value


def largest_resolved_kappa(dtype) -> float:
    """1/(100 eps): above it the Hessian's smallest eigenvalue L/kappa sinks into the rounding of its largest,
    and L/mu comes out as inf, negative or anything (4.5e13 in float64, 8.4e4 in float32)."""
    return 1 / (100 * float(jnp.finfo(dtype).eps))


def kappa_within_dtype(kappa, dtype):
    """ValueError for a (concrete) condition number the dtype cannot resolve (`largest_resolved_kappa`)."""
    limit = largest_resolved_kappa(dtype)
    if is_concrete(kappa) and not np.all(np.asarray(kappa) <= limit):
        raise ValueError(f"kappa = {np.max(np.asarray(kappa)):g} is beyond what {jnp.dtype(dtype).name} resolves "
                         f"(at most {limit:.2g}, 1/(100 eps)): lower kappa"
                         f"{', or use float64' if jnp.dtype(dtype) != jnp.float64 else ''}.")


def within_dtype(values: dict, dtype, what: str = "{name} = {value:g}"):
    """ValueError for a concrete nonzero value outside the dtype's normal numbers: below its smallest (1.2e-38 in
    float32) the run would compute with 0 (XLA's CPU flushes subnormals to zero), above its largest with inf; a
    learning rate of 1e-50 in float32 would run as 0 in silence. values: {name: number or array}; traced ones
    pass. what: how the message names the first such value."""
    info = jnp.finfo(dtype)
    for name, value in values.items():
        kind = np.asarray(value).dtype if value is not None and is_concrete(value) else None
        if kind is None or not _is_numeric(kind) or jnp.issubdtype(kind, jnp.complexfloating):
            continue  # traced, or no real number: the callers' other checks name those
        array = np.asarray(value, float)
        outside = outside_normal(array, dtype)
        if np.any(outside):
            value = array[outside].flat[0]
            becomes = "0" if abs(value) < float(info.tiny) else "inf"
            raise ValueError(f"{what.format(name=name, value=value)} is outside {jnp.dtype(dtype).name}'s normal "
                             f"numbers (magnitudes {float(info.tiny):.2g} to {float(info.max):.2g}): the run would "
                             f"compute with {becomes}. Use float64, or rescale the problem so that it is not needed.")


def outside_normal(array, dtype):
    """Where a nonzero finite number becomes 0, inf or a subnormal in `dtype` (tested on the cast value: float32's
    largest and smallest normal numbers, printed as 3.4028235e38 and 1.1754944e-38, round to themselves)."""
    array = np.asarray(array, float)
    with np.errstate(over="ignore", under="ignore"):
        cast = np.abs(array.astype(np.dtype(dtype)).astype(float))
    return (array != 0) & np.isfinite(array) & (~np.isfinite(cast) | (cast < float(jnp.finfo(dtype).tiny)))


def float_dtype(dtype):
    """The dtype of generated data: float32 or float64 (None: JAX's default float), float64 only with JAX's switch on
    (else JAX would hand back float32 with a warning)."""
    dtype = np.dtype(dtype or jnp.result_type(float))
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}.")
    if dtype == np.float64 and not jax.config.jax_enable_x64:
        raise ValueError("dtype float64 needs JAX's float64 switch, which is off: call "
                         "jax.config.update('jax_enable_x64', True) first, or use float32.")
    return jnp.dtype(dtype)


def generator(name: str, rng):
    """A numpy Generator (np.random.default_rng(seed)), not a seed: an int failed deep inside ('no attribute
    integers')."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"{name} must be a numpy Generator, e.g. np.random.default_rng(0), got {type(rng).__name__}.")
    return rng


def prng_key(name: str, key):
    """One JAX PRNG key (jax.random.key(seed), or a legacy jax.random.PRNGKey(seed)), not a seed nor a batch."""
    dtype = getattr(key, "dtype", None)
    typed = dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)
    raw = dtype is not None and dtype == np.uint32 and np.shape(key)[-1:] in ((2,), (4,))  # threefry, rbg
    if (typed and np.shape(key) != ()) or (raw and np.ndim(key) != 1):
        raise ValueError(f"{name} must be one JAX PRNG key, got a batch of shape "
                         f"{np.shape(key) if typed else np.shape(key)[:-1]}: jax.vmap over the keys for several.")
    if typed or raw:
        return key
    raise ValueError(f"{name} must be a JAX PRNG key, e.g. jax.random.key(0), got {type(key).__name__}"
                     f"{'' if dtype is None else f' of dtype {dtype}'}.")


def learning_rate(name: str, value):
    """Step sizes > 0, of any shape (when concrete)."""
    return real_values(name, value, lambda v: v > 0, "must be > 0 (a learning rate)")


def one_learning_rate(name: str, value):
    """One learning rate > 0: 0-d, traced or not. An array would broadcast against the eigenvalues or the P^2
    entries of a formula, one rate per direction: a number that means nothing. Several: jax.vmap over them."""
    if jnp.ndim(value) != 0:
        raise ValueError(f"{name} must be one number, got shape {jnp.shape(value)}: jax.vmap over learning rates for "
                         "several.")
    return learning_rate(name, value)


def finite_matrix(name: str, matrix, fix: str):
    """A concrete matrix without NaN or infinite entries (a NaN compares False, so no other check sees it)."""
    if not np.all(np.isfinite(np.asarray(matrix))):
        raise ValueError(f"{name} contains NaN or infinite values: {fix}.")


def symmetric(name: str, matrix, fix: str):
    """A concrete square matrix symmetric to rounding (100 eps of its largest entry): eigvalsh reads one triangle
    and the lab's gradients of a^T G a assume G = G^T, so an asymmetric one would give a quietly wrong answer."""
    M = np.asarray(matrix)
    finite_matrix(name, M, fix)
    if np.max(np.abs(M - M.T), initial=0) > 100 * np.finfo(M.dtype).eps * np.max(np.abs(M), initial=0):
        raise ValueError(f"{name} is not symmetric: {fix}.")


def batch_size_in_range(size, largest):
    """Traced mask: `size` an integer in 1..largest. Where no check could see a traced batch size, the callers
    turn a False into NaN rather than a quietly rescaled step."""
    return (size >= 1) & (size <= largest) & (size == jnp.floor(size))


def flag(name: str, value) -> bool:
    """True or False (a 0-d boolean array, or the integers 0 and 1, too), not a truthy string such as "no"."""
    array = np.asarray(value) if is_concrete(value) else None  # a flag decides shapes: never traced
    boolean = array is not None and array.ndim == 0 and (array.dtype == bool or (
        np.issubdtype(array.dtype, np.integer) and array.item() in (0, 1)))
    if not boolean:
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return bool(array)


def scalar_criterion(criterion, params, data):
    """A criterion returning a vector would give a batch of Hessians or gradients: refused (shapes only, so under
    jit too)."""
    shape = jax.eval_shape(criterion, params, data).shape
    if shape != ():
        raise ValueError(f"criterion(a, data) must return a scalar, got shape {shape}: sum or average over samples.")


def count(name: str, value, minimum: int = 1) -> int:
    """A Python int >= minimum (a static size: number of steps, features, ...)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def data_dtype(data):
    """The one floating dtype of the data's arrays (scalars such as l2 aside), as JAX computes it (float64 numpy
    arrays are float32 with float64 off), or None. Refused when they mix two: a float32 X beside a float64 y gives
    a reference accurate to float32 measured in float64 (negative gaps)."""
    paths = jax.tree_util.tree_flatten_with_path(data)[0]
    found = {jax.tree_util.keystr(path): jax.dtypes.canonicalize_dtype(leaf.dtype) for path, leaf in paths
             if np.ndim(leaf) and jnp.issubdtype(getattr(leaf, "dtype", None), jnp.floating)}
    dtypes = set(found.values())
    if len(dtypes) > 1:
        raise ValueError("the data mix float dtypes (" + ", ".join(f"data{k}: {v}" for k, v in found.items()) + "): "
                         "give every array one dtype (lab.problems.make_data converts them).")
    return dtypes.pop() if dtypes else None


def float_params(name: str, params, size: int, against: str):
    """Parameters must be a floating vector of the model's size (that of `against`): `jax.grad` refuses integers."""
    dtype = getattr(params, "dtype", None)
    if dtype is None or not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(
            f"{name} must be a floating-point array (got dtype {dtype}): "
            "gradients need real values, e.g. jnp.zeros(P) rather than jnp.zeros(P, int)."
        )
    if params.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},) to match {against}, got {params.shape}.")
    return params


def params_in_data_dtype(name: str, params, data):
    """Parameters of the data's float dtype (`data_dtype`): a float32 a on float64 data steps in float32 and
    measures its gaps in float64, a precision nobody asked for (strict promotion refuses the mix outright)."""
    dtype = data_dtype(data)
    if dtype is not None and jax.dtypes.canonicalize_dtype(params.dtype) != dtype:
        raise ValueError(f"{name} is {params.dtype} but the data are {dtype}: give {name} the data's dtype "
                         f"({name}.astype(jnp.{dtype})), or the data {name}'s "
                         f"(X.astype(...) before lab.problems.make_data).")


# Optimizer hyper-parameters the lab knows the range of (optax's names).
HYPER_PARAMETERS = {
    "momentum": (lambda v: (v >= 0) & (v < 1), "in [0, 1) (1 never forgets a step: it diverges)"),
    "b1": (lambda v: (v >= 0) & (v < 1), "in [0, 1)"),
    "b2": (lambda v: (v >= 0) & (v < 1), "in [0, 1)"),
    "eps": (lambda v: v >= 0, ">= 0 (it keeps Adam's denominator positive)"),
    "eps_root": (lambda v: v >= 0, ">= 0"),
    "decay": (lambda v: (v >= 0) & (v < 1), "in [0, 1) (rmsprop's average of squared gradients)"),
    "weight_decay": (lambda v: v >= 0, ">= 0 (a negative one pushes the weights away from 0)"),
    "b3": (lambda v: (v >= 0) & (v < 1), "in [0, 1) (a third moving average's decay: adan, ademamix)"),
    "eta": (lambda v: v >= 0, ">= 0 (noisy_sgd's noise variance at step 0: a negative one is NaN noise)"),
    "gamma": (lambda v: v >= 0, ">= 0 (noisy_sgd's decay of the noise variance: a negative one grows it)"),
    "initial_accumulator_value": (lambda v: v >= 0, ">= 0 (adagrad's sum of squared gradients starts there)"),
    "initial_scale": (lambda v: v >= 0, ">= 0 (rmsprop's average of squared gradients starts there)"),
}


def hyper_parameters(values: dict):
    """ValueError for a concrete optimizer hyper-parameter outside its range (momentum 1.5, b1 = 2, eps < 0),
    arrays of values (a sweep's axis) included; traced values pass (they were checked as axes)."""
    for name, value in values.items():
        if name in HYPER_PARAMETERS and value is not None:
            ok, requirement = HYPER_PARAMETERS[name]
            real_values(name, value, ok, f"must be {requirement}")

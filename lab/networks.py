"""A tanh multilayer perceptron on flat parameters: the `a` of a criterion f(a, data) for a small network.

widths = (inputs, hidden..., outputs). The parameters are one vector, each
layer's weights W (fan-in x fan-out, row-major) then its biases, layer by
layer, so that the lab's runs, spectra and sweeps treat a network like any
other criterion. Hidden layers apply tanh; the last is linear.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from lab import _validate


def layer_shapes(widths) -> list[tuple[int, int]]:
    """(fan-in, fan-out) of each layer."""
    if not _validate.is_concrete(widths):
        raise ValueError("widths must be static (they set the parameters' shapes): bind them outside jit, e.g. "
                         "functools.partial(networks.mlp, widths=(2, 32, 1)), or mark them static_argnames.")
    try:
        array = np.asarray(widths) if not isinstance(widths, (str, bytes)) else np.asarray([])
    except ValueError:  # nested sequences of unequal lengths
        array = np.asarray([])
    flags = array.ndim == 1 and any(isinstance(w, (bool, np.bool_)) for w in widths)  # (2, True, 1): int 1 in numpy
    if flags or array.ndim != 1 or len(array) < 2 or not np.issubdtype(array.dtype, np.integer) or array.min() < 1:
        raise ValueError(f"widths must be (inputs, ..., outputs), at least two positive integers, got {widths!r}.")
    widths = tuple(int(w) for w in array)
    return list(zip(widths[:-1], widths[1:]))


def size(widths) -> int:
    """The number of parameters: sum over layers of fan-in x fan-out + fan-out."""
    return sum(m * n + n for m, n in layer_shapes(widths))


def mlp(a, X, widths):
    """The network's outputs (N, widths[-1]) for inputs X (N, widths[0]) and flat parameters a (size(widths),)."""
    shapes = layer_shapes(widths)
    count = sum(m * n + n for m, n in shapes)  # size(widths)
    a, X = jnp.asarray(a), jnp.asarray(X)
    if a.shape != (count,) or X.ndim < 1 or X.shape[-1] != shapes[0][0]:
        raise ValueError(f"a must have shape ({count},) and X {shapes[0][0]} columns for widths "
                         f"{tuple(widths)}, got a {a.shape} and X {X.shape}.")
    h, start = X, 0
    for i, (m, n) in enumerate(shapes):
        W, b = a[start:start + m * n].reshape(m, n), a[start + m * n:start + m * n + n]
        start += m * n + n
        h = h @ W + b if i == len(shapes) - 1 else jnp.tanh(h @ W + b)
    return h


def init(key, widths, dtype=None, scale: float = 1.0):
    """Flat parameters: weights drawn N(0, scale^2 / fan-in) (scale 1 the usual LeCun draw; below 1 a flatter start),
    biases zero; one key split per layer. dtype: float32 or float64 (default JAX's default float)."""
    key, dtype = _validate.prng_key("key", key), _validate.float_dtype(dtype)
    _validate.nonnegative("scale", scale, zero="every weight zero, a saddle of most losses")
    parts = []
    for m, n in layer_shapes(widths):
        key, subkey = jax.random.split(key)
        weights = jnp.asarray(scale, dtype) * jax.random.normal(subkey, (m * n,), dtype) / math.sqrt(m)
        parts += [weights, jnp.zeros(n, dtype)]  # scale in the weights' dtype: a float64 scale does not promote
    return jnp.concatenate(parts)

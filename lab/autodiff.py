"""Automatic differentiation by hand, both ways, and what each way costs.

The course's chain y = f(g(h(x))): w0 = x, w1 = h(w0), w2 = g(w1), y = f(w2).
Each step is a `Layer` with its value and its two local derivative rules:

* forward mode pushes a tangent dw_i/dx from the input to the output,
  dw_i = (dw_i/dw_{i-1}) dw_{i-1}: one pass per input direction;
* reverse mode (backpropagation) pulls an adjoint dy/dw_i from the output to
  the input, dy/dw_{i-1} = dy/dw_i (dw_i/dw_{i-1}): one pass per output.

So the gradient of a scalar criterion of D parameters costs D forward
passes but one reverse pass; a function of one input with D outputs is the
opposite. `flops` reads XLA's own operation count of a compiled function,
which is deterministic, unlike a timer.
"""

import re
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp


class Layer(NamedTuple):
    """One step w -> apply(w) with its Jacobian-vector and vector-Jacobian products at w."""

    apply: Callable
    tangent: Callable  # (w, dw) -> J(w) dw
    adjoint: Callable  # (w, bar) -> J(w)^T bar


def linear_tanh(A) -> Layer:
    """h(x) = tanh(A x): tangent (1 - h^2) * (A dx), adjoint A^T ((1 - h^2) * bar)."""
    return Layer(
        apply=lambda x: jnp.tanh(A @ x),
        tangent=lambda x, dx: (1 - jnp.tanh(A @ x) ** 2) * (A @ dx),
        adjoint=lambda x, bar: A.T @ ((1 - jnp.tanh(A @ x) ** 2) * bar),
    )


def square() -> Layer:
    """g(w) = w^2 elementwise: tangent 2 w dw, adjoint 2 w bar."""
    return Layer(apply=lambda w: w**2, tangent=lambda w, dw: 2 * w * dw, adjoint=lambda w, bar: 2 * w * bar)


def mean() -> Layer:
    """f(w) = mean(w): tangent mean(dw), adjoint bar / m in every entry."""
    return Layer(apply=jnp.mean, tangent=lambda w, dw: jnp.mean(dw),
                 adjoint=lambda w, bar: jnp.full_like(w, bar / w.size))


def compose(layers):
    """The function x -> layers[-1](...layers[0](x))."""

    def composed(x):
        for layer in layers:
            x = layer.apply(x)
        return x

    return composed


def forward_mode(layers, x, dx):
    """(y, dy): the value and the directional derivative J dx, tangents propagated from input to output."""
    _check_float("x", x)
    for layer in layers:
        x, dx = layer.apply(x), layer.tangent(x, dx)
    return x, dx


def reverse_mode(layers, x, bar):
    """(y, x_bar): the value and J^T bar, adjoints propagated from output back to input.

    The forward sweep stores every intermediate w_i (the memory that reverse
    mode pays for its speed); the backward sweep uses them in reverse order.
    """
    _check_float("x", x)
    stored = []
    for layer in layers:
        stored.append(x)
        x = layer.apply(x)
    for layer, w in zip(reversed(layers), reversed(stored)):
        bar = layer.adjoint(w, bar)
    return x, bar


def flops(fn, *args) -> float:
    """Floating-point operations XLA counts in the compiled `fn(*args)` (its cost analysis; no run). A program with
    a loop or a LAPACK call is refused: XLA counts a loop's body once and a library call as almost nothing.

    `fn` may also be already compiled (`jax.jit(f).lower(x).compile()`), without `args`.
    """
    if isinstance(fn, jax.stages.Lowered):
        raise ValueError("fn is lowered, not compiled: pass fn.compile() (XLA counts the program it optimised).")
    if isinstance(fn, jax.stages.Compiled) and args:
        raise ValueError("fn is already compiled for its arguments: call flops(fn) without args.")
    compiled = fn if isinstance(fn, jax.stages.Compiled) else jax.jit(fn).lower(*args).compile()
    text = compiled.as_text()
    if re.search(r"\bwhile\(", text) or re.search(r"\bcustom-call\(", text):
        raise ValueError("fn's compiled program holds a loop (lax.scan, fori_loop, lax.map: every lab run) or a "
                         "library call (LAPACK: solve, eigh, qr), and XLA's cost analysis counts a loop's body once "
                         "and a library call as almost nothing (T = 10 and 1000 steps counted alike; a 200 x 200 "
                         "solve as 4e4 flops for LU's 5e6): count one step and multiply by the steps, and a library "
                         "call by its formula (LU: 2n^3/3).")
    analysis = compiled.cost_analysis()
    if isinstance(analysis, (list, tuple)):  # older JAX returned one dict per device program
        analysis = analysis[0]
    return float(analysis.get("flops", 0.0))


def _check_float(name, x):
    """Derivatives are of real floats (jax.grad refuses integers too): an integer x gave mean()'s adjoint in integers,
    a zero gradient."""
    dtype = jnp.asarray(x).dtype
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"{name} must hold floats to differentiate, got {dtype}: e.g. x.astype(float).")

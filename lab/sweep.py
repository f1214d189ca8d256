"""Sweeps: a grid of runs as one compiled, vectorised, sharded call.

`sweep(run, axes)` forms the full grid of the named axes and evaluates
`run(**values)` on every point with one `vmap` per axis (first axis
outermost), inside one `jit`. Nesting the vmaps, rather than flattening the
grid, lets JAX see what each quantity depends on: data generated from
(kappa, seed) is computed once per setting and shared by every step size, so
a step-size axis turns R matrix-vector products into one matrix-matrix
product. The run itself is never re-implemented: the grid value at any point
equals a plain call of `run` there.

An axis of a single value is passed to the run as a traced scalar rather
than vmapped (a batch of one would make shared matmuls batched ones). The
first axis of several values is chunked so that the results fit in
`max_bytes`, and each chunk is sharded over `jax.devices()`. Chunks all have one shape (the last
is padded), so a sweep compiles once, and a second sweep with new values of
the same shapes does not compile at all.
"""

import functools
import sys
import time
import warnings

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from lab import reference, runs
from lab.results import Results

DEFAULT_MAX_BYTES = 2**30


def sweep(run, axes: dict, *, max_bytes: int = DEFAULT_MAX_BYTES, chunk: bool = True, devices=None,
          progress: bool = True, config: dict | None = None) -> Results:
    """Evaluate `run(**point)` on every point of the grid of `axes`, in one compiled call per chunk.

    run: a `lab.runs.Run` (its contract: the names it accepts, its checks,
        its memory per run), e.g. `lab.runs.LinearRegressionRun` or
        `lab.runs.CriterionRun`; or any pure callable of named
        hyper-parameters returning a NamedTuple or dict of arrays (scalars or
        curves), taken as a `lab.runs.FunctionRun`.
    axes: {name: 1-D values}; axes not given take the run's defaults.
    max_bytes: memory bound for one chunk; `chunk=False` refuses to split.
    devices: where to shard the runs (default `jax.devices()`).
    progress: report runs done, runs/s and time left on stderr between chunks.
    """
    run = runs.as_run(run)
    axes = checked_axes(run, axes)
    devices = list(devices or jax.devices())
    mapped, fixed = split_axes(axes)
    shape = tuple(len(axes[name]) for name in mapped)
    per_slice = _bytes_per_run(run, axes) * int(np.prod(shape[1:]))
    chunk_len = _chunk_length(shape[0], per_slice, max_bytes, chunk, len(devices), mapped[0])
    mesh = Mesh(np.array(devices), ("runs",))
    replicated = NamedSharding(mesh, PartitionSpec())
    first = axes[mapped[0]]
    rest = [jax.device_put(axes[name], replicated) for name in mapped[1:]]
    pinned = {name: jax.device_put(value, replicated) for name, value in fixed.items()}
    pieces, started = [], time.perf_counter()
    for start in range(0, shape[0], chunk_len):
        values = first[start:start + chunk_len]
        padded = np.concatenate([values, np.repeat(values[-1:], chunk_len - len(values))])
        out = _grid(run, mapped, pinned, jax.device_put(padded, NamedSharding(mesh, PartitionSpec("runs"))), *rest)
        pieces.append({name: _gather(x)[:len(values)] for name, x in runs.outputs_of(out).items()})
        if progress and shape[0] > chunk_len:
            _report(min(start + chunk_len, shape[0]), shape, started)
    grid_shape = tuple(len(values) for values in axes.values())
    outputs = {name: np.concatenate([p[name] for p in pieces]) for name in pieces[0]}
    outputs = {name: x.reshape(grid_shape + x.shape[len(mapped):]) for name, x in outputs.items()}
    warn_unconverged(outputs)
    return Results(axes, outputs, describe(run, axes, devices, config))


def lower(run, axes: dict):
    """The grid's compiled call, lowered for all of `axes` at once (no chunks, one device): `.compile()` and
    `.cost_analysis()` on it measure what `sweep` compiles, without running it."""
    run = runs.as_run(run)
    axes = checked_axes(run, axes)
    mapped, fixed = split_axes(axes)
    return _grid.lower(run, mapped, fixed, *(axes[name] for name in mapped))


@functools.partial(jax.jit, static_argnums=1)
def _grid(run, names, fixed, *values):
    """run on the grid of `values` (one vmap per axis, the first outermost), `fixed` passed to every point."""
    return grid_vmap(lambda *point: run(**dict(zip(names, point)), **fixed), len(names))(*values)


def warn_unconverged(outputs: dict, stacklevel: int = 3):
    """Warn when some runs' reference optimum did not converge (`Outcome.reference_status` not 0)."""
    status = outputs.get("reference_status")
    if status is not None and np.any(np.asarray(status) != 0):
        bad = np.asarray(status)[np.asarray(status) != 0]
        kinds = ", ".join(f"{reference.STATUSES[k]} x{int(np.sum(bad == k))}" for k in np.unique(bad))
        warnings.warn(f"the reference optimum was not found for {bad.size} of {np.asarray(status).size} runs ({kinds}): "
                      "their gaps and rates are measured from a wrong f*. Check reference_status and "
                      "reference_gradient_norm; build the problem eagerly (lab.problems.problem) for the reason.",
                      stacklevel=stacklevel)


def split_axes(axes: dict):
    """(names of the axes to vmap, {name: value} of the axes of a single value).

    Axes of one value are passed as plain (traced) scalars, not vmapped: a batch of one would
    turn the shared matmuls into batched ones for nothing (1.3-2.3x slower, measured). They come
    back as dimensions of size 1. At least one axis is mapped.
    """
    mapped = tuple(name for name, values in axes.items() if len(values) > 1) or tuple(axes)[:1]
    return mapped, {name: values[0] for name, values in axes.items() if name not in mapped}


def grid_vmap(fn, num_axes: int):
    """fn(x_1, ..., x_k) of scalars -> the same on the grid of 1-D arrays: one vmap per axis, the first outermost."""
    for axis in reversed(range(num_axes)):
        fn = jax.vmap(fn, in_axes=tuple(0 if i == axis else None for i in range(num_axes)))
    return fn


def _gather(x) -> np.ndarray:
    """The whole array on this host, also when it is sharded over the devices of several hosts."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)


def checked_axes(run, axes) -> dict:
    """`axes` as {name: 1-D float array}, checked against the run's names and its `check_axes` (ValueError)."""
    if not isinstance(axes, dict) or not axes:
        raise ValueError("axes must be a non-empty dict {name: values}, e.g. {'step_over_edge': np.linspace(0.1, 1.9, 64)}.")
    accepted = run.axis_names
    checked = {}
    for name, values in axes.items():
        if accepted is not None and name not in accepted:
            raise ValueError(f"axis {name!r} is not a parameter of the run; it accepts {sorted(accepted)}.")
        values = np.asarray(values)
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"axis {name!r} must be a non-empty 1-D sequence of values, got shape {values.shape}.")
        if not (np.issubdtype(values.dtype, np.number) or values.dtype == bool) or np.iscomplexobj(values):
            raise ValueError(f"axis {name!r} must hold real numbers, got dtype {values.dtype}.")
        if not np.all(np.isfinite(values)):
            raise ValueError(f"axis {name!r} contains NaN or infinite values: {values}.")
        checked[name] = values
    run.check_axes(checked)
    return checked


def _bytes_per_run(run, axes) -> int:
    return run.bytes_per_run({name: values[0] for name, values in axes.items()})


def _chunk_length(length, bytes_per_slice, max_bytes, chunk, num_devices, first_name) -> int:
    """How many values of the first axis one chunk takes: a multiple of the device count."""
    fits = max_bytes // max(bytes_per_slice, 1)
    if not chunk and fits < length:
        raise ValueError(
            f"the grid needs {length * bytes_per_slice / 2**20:.0f} MiB, more than max_bytes = "
            f"{max_bytes / 2**20:.0f} MiB: allow chunking (chunk=True), raise max_bytes or record fewer iterations."
        )
    if fits < num_devices:
        raise ValueError(
            f"one value of the first axis {first_name!r} needs {bytes_per_slice / 2**20:.0f} MiB on each of "
            f"{num_devices} device(s), more than max_bytes = {max_bytes / 2**20:.0f} MiB: put a longer axis first, "
            "raise max_bytes or record fewer iterations."
        )
    wanted = min(fits, length)
    return -(-wanted // num_devices) * num_devices if wanted == length else wanted // num_devices * num_devices


def _report(done_slices, shape, started):
    """Progress after `done_slices` values of the first (chunked) axis of the grid `shape`."""
    per_slice = int(np.prod(shape[1:]))
    done, total = done_slices * per_slice, int(np.prod(shape))
    elapsed = time.perf_counter() - started
    rate = done / elapsed if elapsed > 0 else float("inf")
    left = (total - done) / rate if rate > 0 else float("inf")
    print(f"sweep: {done}/{total} runs, {rate:,.0f} runs/s, {left:.1f} s left", file=sys.stderr, flush=True)


def _plain_name(value):
    """A short, reproducible description of a configuration value (functions by name, not address)."""
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    if isinstance(value, functools.partial):
        arguments = ", ".join(f"{k}={v!r}" for k, v in value.keywords.items())
        return f"{_plain_name(value.func)}({arguments})"
    if isinstance(value, runs.Scheduled):
        return f"{type(value).__name__}({_plain_name(value.optimizer)}, num_steps={value.num_steps})"
    return getattr(value, "__name__", type(value).__name__)


def describe(run, axes, devices, config) -> dict:
    """The JSON-ready provenance of a grid: the run and its configuration, axes, devices, versions."""
    import dataclasses

    import optax

    description = {
        "run": type(run).__name__ if dataclasses.is_dataclass(run) else getattr(run, "__name__", repr(run)),
        "axes": {name: values.tolist() for name, values in axes.items()},
        "devices": [str(d) for d in devices],
        "platform": devices[0].platform,
        "versions": {"jax": jax.__version__, "optax": optax.__version__, "numpy": np.__version__},
    }
    if dataclasses.is_dataclass(run):
        fields = {f.name: getattr(run, f.name) for f in dataclasses.fields(run)}
        description["run_config"] = {k: _plain_name(v) for k, v in fields.items()}
    description.update(config or {})
    return description

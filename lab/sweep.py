"""Sweeps: a grid of runs as one compiled, vectorised, sharded call.

`sweep(run, axes)` forms the full grid of the named axes and evaluates
`run(**values)` on every point with one `vmap` per axis (first axis
outermost, the step sizes innermost), inside one `jit`. Nesting the vmaps, rather than flattening the
grid, lets JAX see what each quantity depends on: data generated from
(kappa, seed) is computed once per setting and shared by every step size, so
a step-size axis turns R matrix-vector products into one matrix-matrix
product. The run itself is never re-implemented: the grid value at any point
equals a plain call of `run` there.

An axis of a single value is passed to the run as a traced scalar rather
than vmapped (a batch of one would make shared matmuls batched ones). The
first axis of several values that is not a learning rate (the learning-rate axis when
it is the only one) is chunked so that a chunk (its results, curves and data) fits in
`max_bytes`, and each chunk is sharded over `jax.devices()`. Chunks all have one shape (the last
is padded), so a sweep compiles once, and a second sweep with new values of
the same shapes does not compile at all.
"""

import dataclasses
import functools
import hashlib
import json
import os
import sys
import time
import warnings
import zipfile
from pathlib import Path

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from lab import _validate, files, reference, runs
from lab.results import Results

DEFAULT_MAX_BYTES = 2**30


def sweep(run, axes: dict, *, max_bytes: int | None = None, chunk: bool = True, devices=None,
          progress: bool = True, config: dict | None = None, checkpoint=None) -> Results:
    """Evaluate `run(**point)` on every point of the grid of `axes`, in one compiled call per chunk.

    run: a `lab.runs.Run` (its contract: the names it accepts, its checks,
        its memory per run), e.g. `lab.runs.LinearRegressionRun` or
        `lab.runs.CriterionRun`; or any pure callable of named
        hyper-parameters returning a NamedTuple or dict of arrays (scalars or
        curves), taken as a `lab.runs.FunctionRun`.
    axes: {name: 1-D values}; axes not given take the run's defaults.
    max_bytes: memory bound for one chunk (its results, curves and data, as the run estimates them;
        default 1 GiB, at most half the memory free on the device); `chunk=False` refuses to split.
    devices: where to shard the runs (default `jax.devices()`).
    progress: report runs done, runs/s and time left on stderr between chunks.
    checkpoint: a directory: each finished chunk is written there at once (atomically, as KEY-INDEX.npz, KEY a
        hash of the lowered program, the run's data and the axes: `checkpoint_key`), and chunks found there
        under the same key are read instead of computed, so a sweep interrupted in any way resumes where it
        stopped, with equal results; a change to the criterion or any function it calls changes the key.
        The results' config holds the key ("checkpoint_key").

    Before running, the compiled chunk's memory (XLA's own account) is checked against the memory
    free on the device, and the whole grid's results against the host's: a sweep that cannot fit is
    refused with the numbers, not started.
    """
    run = runs.as_run(run)
    axes = checked_axes(run, axes)
    if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, float, np.number))
                                  or not 0 < max_bytes < np.inf):
        raise ValueError(f"max_bytes must be a positive number of bytes, got {max_bytes!r}.")
    if checkpoint is not None and Path(checkpoint).exists() and not Path(checkpoint).is_dir():
        raise ValueError(f"checkpoint {str(checkpoint)!r} is a file, not a directory: name a directory for the chunks.")
    devices = list(devices or jax.devices())
    free = available_bytes(next(d for d in devices if d.process_index == jax.process_index()))  # one of this host's
    mapped, fixed = split_axes(axes)
    shape = tuple(len(axes[name]) for name in mapped)
    bound = max_bytes if max_bytes is not None else min(DEFAULT_MAX_BYTES, free // 2 if free else DEFAULT_MAX_BYTES)
    chunk_len = _chunk_length(shape[0], _slice_bytes(run, axes, mapped), bound, chunk, len(devices), mapped[0],
                              strict=max_bytes is not None)
    mesh = Mesh(np.array(devices), ("runs",))
    replicated = NamedSharding(mesh, PartitionSpec())
    first = axes[mapped[0]]
    rest = [jax.device_put(axes[name], replicated) for name in mapped[1:]]
    pinned = {name: jax.device_put(value, replicated) for name, value in fixed.items()}
    starts = range(0, shape[0], chunk_len)

    def arguments(start):  # the traced arguments of a chunk: its values of the first axis padded to chunk_len
        values = first[start:start + chunk_len]
        padded = np.concatenate([values, np.repeat(values[-1:], chunk_len - len(values))])
        return pinned, jax.device_put(padded, NamedSharding(mesh, PartitionSpec("runs"))), *rest

    lowered = _grid.lower(run, mapped, *arguments(0)) if checkpoint is not None else None
    key = checkpoint_key(run, axes, chunk_len, devices, config, lowered.as_text()) if lowered else None
    stored = [_read_chunk(checkpoint, key, index) for index in range(len(starts))] if key else [None] * len(starts)
    compiled = None
    pieces, started = [], time.perf_counter()
    for index, start in enumerate(starts):
        values = first[start:start + chunk_len]
        piece = stored[index]
        if piece is None:
            if compiled is None:
                compiled = (lowered or _grid.lower(run, mapped, *arguments(0))).compile()
                _check_memory(compiled, free, len(starts), devices)
            out = compiled(run, *arguments(start))
            piece = {name: _gather(x)[:len(values)] for name, x in runs.outputs_of(out).items()}
            if key and jax.process_index() == 0:
                _write_chunk(checkpoint, key, index, piece)
        pieces.append(piece)
        if progress and shape[0] > chunk_len:
            _report(min(start + chunk_len, shape[0]), shape, started)
    grid_shape = tuple(len(values) for values in axes.values())
    given_order = [mapped.index(name) for name in axes if name in mapped]
    outputs = {name: np.concatenate([p[name] for p in pieces]) for name in pieces[0]}
    outputs = {name: np.transpose(x, given_order + list(range(len(mapped), x.ndim))).reshape(
        grid_shape + x.shape[len(mapped):]) for name, x in outputs.items()}
    warn_unconverged(outputs)
    if "iterations_resolved" in outputs:  # runs that return an Outcome
        runs.warn_unresolved(outputs["iterations_resolved"], outputs["initial_gap"].dtype)
    provenance = describe(run, axes, devices, config) | ({"checkpoint_key": key} if key else {})
    return Results(axes, outputs, provenance, run.optimizer_name, run.problem_name)


def available_bytes(device=None) -> int | None:
    """Memory free on `device` (default the first of `jax.devices()`): an accelerator's limit less what is
    in use, for the CPU the host's available memory; None where neither can be read."""
    device = device or jax.devices()[0]
    stats = device.memory_stats()
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    return host_available_bytes()


def host_available_bytes() -> int | None:
    """The host memory available to a new allocation (Linux: MemAvailable), None where unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _check_memory(compiled, free, num_chunks, devices):
    """ValueError when one compiled chunk needs more than the device's free memory, or all the results more than
    the host's (on the CPU both are the host's): the numbers and the remedy, before anything runs."""
    stats = compiled.memory_analysis()
    if stats is None:
        return
    need = (stats.argument_size_in_bytes + stats.output_size_in_bytes + stats.temp_size_in_bytes
            - stats.alias_size_in_bytes)
    results = stats.output_size_in_bytes * len(devices) * num_chunks
    host = host_available_bytes()
    on_cpu = devices[0].platform == "cpu"
    if free is not None and need > free:
        raise ValueError(
            f"one chunk of this sweep needs {_mib(need)} per device (XLA's count for the compiled call: "
            f"data, working arrays and results), more than the {_mib(free)} free: use smaller data, "
            "put a longer setting axis first so that chunks can be smaller, or record fewer iterations (record_every).")
    if host is not None and results + (need if on_cpu else 0) > host:
        raise ValueError(
            f"the results of this sweep need {results / 2**30:,.3g} GiB in all, more than the {host / 2**30:,.3g} GiB "
            f"of memory available: sweep fewer runs (shorter axes), record fewer iterations (record_every), or "
            "sweep the grid in parts.")


def checkpoint_key(run, axes, chunk_len, devices, config, program: str) -> str:
    """A hash of everything a chunk's results depend on: the chunk's lowered program (`program`, the text of
    its lowering: the run's criterion, optimizer and every function they call, with the constants they close
    over; not the Python body of a host callback), the XLA flags it compiles with, the run's arrays (its data),
    the axes, the chunk length, the devices and the versions."""
    digest = hashlib.sha256()
    description = describe(run, axes, devices, config)
    chunked = split_axes(axes)[0][0]
    digest.update(json.dumps({**description, "chunk": chunk_len, "chunked": chunked}, sort_keys=True,
                             default=str).encode())
    digest.update(program.encode())
    digest.update(os.environ.get("XLA_FLAGS", "").encode())  # compiled otherwise (lab sweep --compile fast/full)
    for leaf in jax.tree_util.tree_leaves(run):
        if isinstance(leaf, (np.ndarray, jax.Array)):
            array = np.asarray(leaf)
            digest.update(f"{array.dtype}{array.shape}".encode() + array.tobytes())
    return digest.hexdigest()[:20]


def _chunk_path(directory, key, index) -> Path:
    return Path(directory) / f"{key}-{index:05d}.npz"


def checkpoint_files(directory, key=None) -> list:
    """The chunk files in a checkpoint directory: those of the sweep of `key`, or all."""
    return sorted(Path(directory).glob(f"{key or '*'}-*.npz"))


def _write_chunk(directory, key, index, piece):
    Path(directory).mkdir(parents=True, exist_ok=True)
    files.write_atomic(_chunk_path(directory, key, index), lambda file: np.savez(file, **piece))


def _read_chunk(directory, key, index):
    """The stored outputs of chunk `index`, or None where there are none (or a damaged file: recomputed)."""
    path = _chunk_path(directory, key, index)
    if not path.is_file():
        return None
    try:
        with np.load(path) as arrays:
            return {name: arrays[name] for name in arrays.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        return None


def lower(run, axes: dict):
    """The grid's compiled call, lowered for all of `axes` at once (no chunks, one device): `.compile()` and
    `.cost_analysis()` on it measure what `sweep` compiles, without running it. Its outputs' dimensions are in
    the order the sweep vmaps (`split_axes`: step sizes last), axes of one value left out."""
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
        warnings.warn(f"the reference optimum was not found for {bad.size} of {np.asarray(status).size} runs "
                      f"({kinds}): their gaps and rates are measured from a wrong f*. Check reference_status and "
                      "reference_gradient_norm; build the problem eagerly (lab.problems.problem) for the reason.",
                      stacklevel=stacklevel)


def split_axes(axes: dict):
    """(names of the axes to vmap, step sizes last; {name: value} of the axes of a single value).

    Axes of one value are passed as plain (traced) scalars, not vmapped: a batch of one would
    turn the shared matmuls into batched ones for nothing (1.3-2.3x slower, measured). They come
    back as dimensions of size 1. At least one axis is mapped. The step sizes are vmapped innermost
    and a setting axis is the one chunked, whatever the axes' order: a chunk then holds all the
    step sizes of its settings, which share each step's matrix product. Chunked along the step
    sizes instead, 10^5 small runs held 2 step sizes of 1,000 settings per chunk, each step
    streamed every setting's data from memory, and the sweep ran 7x slower.
    """
    mapped = tuple(name for name, values in axes.items() if len(values) > 1) or tuple(axes)[:1]
    # stable: the given order otherwise
    mapped = tuple(sorted(mapped, key=lambda name: name in runs.LEARNING_RATE_AXES))
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
        raise ValueError("axes must be a non-empty dict {name: values}, "
                         "e.g. {'learning_rate_over_edge': np.linspace(0.1, 1.9, 64)}.")
    accepted = run.axis_names
    checked = {}
    for name, values in axes.items():
        if accepted is not None and name not in accepted:
            raise ValueError(f"axis {name!r} is not a parameter of the run; it accepts {sorted(accepted)}.")
        if not _validate.is_concrete(values):
            raise ValueError(f"axis {name!r} holds traced values: a sweep or an edge search compiles, chunks and "
                             "gathers its runs itself, so it runs outside jax.jit and jax.vmap; call it there, or "
                             "jit and vmap the run itself.")
        values = np.asarray(values)
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"axis {name!r} must be a non-empty 1-D sequence of values, got shape {values.shape}.")
        if not (np.issubdtype(values.dtype, np.number) or values.dtype == bool) or np.iscomplexobj(values):
            raise ValueError(f"axis {name!r} must hold real numbers, got dtype {values.dtype}.")
        if not np.all(np.isfinite(values)):
            raise ValueError(f"axis {name!r} contains NaN or infinite values: {values}.")
        checked[name] = values
    run.check_axes(checked)
    seeds = checked.get("seed")
    if seeds is not None and np.all(np.mod(seeds, 1) == 0) and np.all(np.abs(seeds) < 2**31):
        checked["seed"] = seeds.astype(np.int32)  # float seeds above 2**24 would alias in float32 (float64 off)
    return checked


def _slice_bytes(run, axes, mapped) -> int:
    """The run's estimate of one value of the chunked axis: its runs' results and curves, and the data of its
    settings (shared by the step sizes of a setting)."""
    point = {name: values[0] for name, values in axes.items()}
    counts = [1] + [len(axes[name]) for name in mapped[1:]]
    settings = int(np.prod([c for c, name in zip(counts, mapped) if name not in runs.LEARNING_RATE_AXES]))
    return run.bytes_per_run(point) * int(np.prod(counts)) + run.bytes_per_setting(point) * settings


def _chunk_length(length, bytes_per_slice, max_bytes, chunk, num_devices, first_name, strict=True) -> int:
    """How many values of the chunked axis one chunk takes: a multiple of the device count. Beyond a bound the
    user did not set (`strict` False), the smallest chunk; the compiled call's memory is checked later."""
    fits = int(max_bytes // max(bytes_per_slice, 1))
    if not chunk and fits < length:
        raise ValueError(
            f"the grid needs {_mib(length * bytes_per_slice)}, more than max_bytes = "
            f"{_mib(max_bytes)}: allow chunking (chunk=True), raise max_bytes (lab sweep --max-mb) or record fewer "
            "iterations."
        )
    if fits < num_devices and not strict:
        return num_devices
    if fits < num_devices:
        raise ValueError(
            f"a chunk holds at least one value of the chunked axis {first_name!r} per device: "
            f"{num_devices} x {_mib(bytes_per_slice)} = {_mib(num_devices * bytes_per_slice)}, more than "
            f"max_bytes = {_mib(max_bytes)}: put a longer setting axis first, "
            "raise max_bytes (lab sweep --max-mb) or record fewer iterations."
        )
    wanted = min(fits, length)
    return -(-wanted // num_devices) * num_devices if wanted == length else wanted // num_devices * num_devices


def _mib(size) -> str:
    return f"{size / 2**20:,.4g} MiB"


def _report(done_slices, shape, started):
    """Progress after `done_slices` values of the first (chunked) axis of the grid `shape`."""
    per_slice = int(np.prod(shape[1:]))
    done, total = done_slices * per_slice, int(np.prod(shape))
    elapsed = time.perf_counter() - started
    rate = done / elapsed if elapsed > 0 else float("inf")
    left = (total - done) / rate if rate > 0 else float("inf")
    print(f"sweep: {done}/{total} runs, {rate:,.0f} runs/s, {left:.1f} s left", file=sys.stderr, flush=True)


def describe(run, axes, devices, config) -> dict:
    """The JSON-ready provenance of a grid: the run and its configuration, axes, devices, versions."""
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
        description["run_config"] = {k: runs.name_of(v) for k, v in fields.items()}
    description.update(config or {})
    return description

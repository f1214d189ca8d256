"""Results of a sweep: named axes, outputs on their grid, and their files (.npz + JSON sidecar, CSV).

Files are written whole or not at all (temporary file, then rename). The
arrays go to `NAME.npz`; axes order, dimensions, configuration, dtype,
devices and versions to `NAME.json` beside it, written last, so a results
file without its sidecar is an interrupted save and `load` says so.
"""

import csv
import io
import json
import uuid
import warnings
import zipfile
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lab import files

FORMAT = "lab.results/2"  # 2: learning-rate names (learning_rate_over_edge, ...), theory_kind


class Results(NamedTuple):
    """A sweep's outputs on its grid.

    axes: {name: values (k,)} in grid order.
    outputs: {name: array of shape grid + (iteration,) for curves, grid for summaries}.
    config: JSON-ready description of the run, dtype, devices and versions (provenance).
    optimizer: the optimizer's name for titles ('sgd', 'adam'; `Run.optimizer_name`).
    problem: what the runs minimise, for titles ('least squares, N = 100, D = 10'; `Run.problem_name`).
    """

    axes: dict
    outputs: dict
    config: dict
    optimizer: str = ""
    problem: str = ""

    @property
    def shape(self) -> tuple:
        return tuple(len(v) for v in self.axes.values())

    def dims(self, name: str) -> tuple:
        """Named dimensions of an output: the axis names, then 'iteration' for curves."""
        extra = self.outputs[name].ndim - len(self.axes)
        return tuple(self.axes) + ("iteration",) * extra

    def __getitem__(self, name):
        return self.outputs[name]

    def constant(self, name: str, default):
        """An output that is the same for every run (record_every, tolerance) as a Python scalar, or `default`
        where the runs do not report it (a function run)."""
        return np.ravel(self.outputs[name])[0].item() if name in self.outputs else default


def _flatten(results: Results):
    """Results as a JAX pytree that keeps the axes' order: a NamedTuple of dicts would be rebuilt with its keys
    sorted (`jax.device_get`, `jax.tree.map`), its axes then naming the outputs' dimensions in the wrong order.
    The leaves are the axes' values and the outputs (a tree.map maps both); the names, config and titles ride along."""
    names = (tuple(results.axes), tuple(results.outputs))
    children = (tuple(results.axes.values()), tuple(results.outputs.values()))
    return children, (names, results.config, results.optimizer, results.problem)


def _unflatten(aux, children) -> Results:
    (axis_names, output_names), config, optimizer, problem = aux
    return Results(dict(zip(axis_names, children[0])), dict(zip(output_names, children[1])), config, optimizer, problem)


jax.tree_util.register_pytree_node(Results, _flatten, _unflatten)


def _paths(path):
    path = Path(path)
    base = path.with_suffix("") if path.suffix in (".npz", ".json") else path
    return base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")


def save(results: Results, path) -> Path:
    """Write `results` to PATH.npz and its sidecar PATH.json; returns the .npz path."""
    arrays_path, sidecar_path = _paths(path)
    shape = results.shape
    for kind, values_by_name in (("axis", results.axes), ("output", results.outputs)):
        for name, values in values_by_name.items():
            dtype = np.asarray(values).dtype
            if dtype.kind in "OV":  # object, or a type numpy's .npz writes as raw bytes (bfloat16)
                held = "raw bytes" if dtype.kind == "V" else "pickled objects, which load refuses"
                raise ValueError(f"{kind} {name!r} has dtype {dtype}, which an .npz file holds as {held}: cast it, "
                                 "e.g. np.asarray(values, np.float32).")
    for name, values in results.outputs.items():
        if np.shape(values)[:len(shape)] != shape:
            raise ValueError(f"output {name!r} has shape {np.shape(values)}, which does not start with the axes' "
                             f"shape {shape}: each output holds one value (or curve) per grid point.")
    files.writable_directory(arrays_path.parent)
    token = uuid.uuid4().hex  # in both files: load refuses a pair from two different saves
    sidecar = {
        "format": FORMAT,
        "token": token,
        "axes": list(results.axes),
        "dims": {name: list(results.dims(name)) for name in results.outputs},
        "dtypes": {name: str(v.dtype) for name, v in results.outputs.items()},
        "config": results.config,
        "optimizer": results.optimizer,
        "problem": results.problem,
    }
    try:
        text = files.json_text(sidecar)  # before any file: a config JSON cannot hold leaves no half pair
    except TypeError as error:
        raise ValueError(f"the results' config must hold JSON values (numbers, strings, lists, dicts): "
                         f"{error}.") from None
    arrays = {f"axis/{k}": v for k, v in results.axes.items()} | {f"output/{k}": v for k, v in results.outputs.items()}
    files.write_atomic(arrays_path, lambda file: np.savez(file, token=np.array(token), **arrays))
    files.write_atomic(sidecar_path, lambda file: file.write(text.encode()))
    return arrays_path


def load(path) -> Results:
    """Read what `save` wrote."""
    arrays_path, sidecar_path = _paths(path)
    if not arrays_path.exists():
        raise ValueError(f"no results at {str(arrays_path)!r}: check the path (save writes NAME.npz and NAME.json).")
    if not sidecar_path.exists():
        raise ValueError(f"{str(arrays_path)!r} has no sidecar {sidecar_path.name!r}: the save was interrupted; "
                         "run the sweep again.")
    try:
        sidecar = json.loads(sidecar_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{str(sidecar_path)!r} is not JSON ({error}): the file is damaged; "
                         "run the sweep again.") from None
    if not isinstance(sidecar, dict) or sidecar.get("format") != FORMAT:
        found = sidecar.get("format") if isinstance(sidecar, dict) else type(sidecar).__name__
        raise ValueError(f"{str(sidecar_path)!r} is not a lab results sidecar of format {FORMAT!r} (it says "
                         f"{found!r}): written by another version of the lab, or not by the lab.")
    if not all(isinstance(sidecar.get(key), kind) for key, kind in (("axes", list), ("dims", dict), ("config", dict))):
        raise ValueError(f"{str(sidecar_path)!r} lacks its axes, dims or config: the file is damaged; "
                         "run the sweep again.")
    try:
        with np.load(arrays_path, allow_pickle=False) as arrays:
            token = str(arrays["token"]) if "token" in arrays.files else None
            if token != sidecar.get("token"):
                raise ValueError(f"{str(arrays_path)!r} and {sidecar_path.name!r} come from two different saves (an "
                                 "interrupted save left one of an earlier pair): run the sweep again.")
            missing = [key for key in [f"axis/{n}" for n in sidecar["axes"]] + [f"output/{n}" for n in sidecar["dims"]]
                       if key not in arrays.files]
            if missing:
                raise ValueError(f"{str(arrays_path)!r} lacks {', '.join(missing)} that its sidecar names: the file "
                                 "is damaged; run the sweep again.")
            axes = {name: arrays[f"axis/{name}"] for name in sidecar["axes"]}
            outputs = {name: arrays[f"output/{name}"] for name in sidecar["dims"]}
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{str(arrays_path)!r} cannot be read ({type(error).__name__}: {error}): "
                         "the file is truncated or damaged; run the sweep again.") from None
    except ValueError as error:
        if "pickle" in str(error):  # numpy's words for bytes that are not an .npz
            raise ValueError(f"{str(arrays_path)!r} is not an .npz file: the file is damaged; "
                             "run the sweep again.") from None
        raise
    shape = tuple(len(values) for values in axes.values())
    for name, values in outputs.items():
        if values.shape[:len(shape)] != shape or values.ndim != len(sidecar["dims"][name]):
            raise ValueError(f"{str(arrays_path)!r}: output {name!r} has shape {values.shape}, but the axes are "
                             f"{shape} and its dims {sidecar['dims'][name]}: the file is damaged; run the sweep again.")
    return Results(axes, outputs, sidecar["config"], str(sidecar.get("optimizer", "")), str(sidecar.get("problem", "")))


def rows(results: Results, curves: bool = False):
    """(header, row iterator) of the long format: one row per run (axis values, then every summary), or with
    `curves` one row per run and recorded iteration (axis values, iteration, then every curve).

    The rows' iterations are 0, k, 2k, ..., k = `record_every`, those of `gap` (else of the longest curve): a curve
    recorded at its own steps, every NAME_every (`sharpness`, every `sharpness_every` steps beside `gap`), does
    not share them and is left out of the rows; so is, with a warning, an output of another length (a function
    run's vector of coefficients is no curve over iterations), or of more than one value per iteration. An output
    named as an axis (the `learning_rate_over_edge` a run reports back) is the axis column, written as swept.
    """
    grid = len(results.axes)
    _check_echoed_axes(results)
    every = results.constant("record_every", 1)
    names = [n for n, v in results.outputs.items() if (v.ndim > grid) == curves and n not in results.axes]
    if curves and names:
        names = [n for n in names if results.constant(f"{n}_every", every) == every]
        shapes = {n: results.outputs[n].shape[grid:] for n in names}
        vectors = [n for n in names if len(shapes[n]) == 1]
        length = shapes["gap"] if "gap" in vectors else max((shapes[n] for n in vectors), default=(0,))
        if left := [f"{n} {shapes[n]}" for n in names if shapes[n] != length]:
            warnings.warn(f"the long format's curves are the outputs of {length[0]} values per run (iterations 0, "
                          f"{every}, ...); left out: {', '.join(left)} per run, not values at those iterations.",
                          stacklevel=3)
        names = [n for n in names if shapes[n] == length]
    header = [*results.axes, *(["iteration"] if curves else []), *names]

    def generate():
        for point in np.indices(results.shape).reshape(grid, -1).T:
            coordinates = [values[i].item() for values, i in zip(results.axes.values(), point)]
            if curves:
                columns = [results.outputs[n][tuple(point)] for n in names]
                for t, row in enumerate(zip(*columns)):
                    yield [*coordinates, t * every, *(x.item() for x in row)]
            else:
                yield [*coordinates, *(results.outputs[n][tuple(point)].item() for n in names)]

    return header, generate()


def _check_echoed_axes(results: Results):
    """An output named as an axis must be that axis's values at every run, to the output's rounding (the long
    format writes the axis column alone): a function run's own output x beside an axis x would be lost."""
    for name, values in results.axes.items():
        output = results.outputs.get(name)
        if output is None or output.shape[:len(results.axes)] != results.shape:
            continue
        index = list(results.axes).index(name)
        swept = np.asarray(values, float).reshape([-1 if i == index else 1 for i in range(len(results.axes))])
        swept = swept.reshape(swept.shape + (1,) * (output.ndim - len(results.axes)))
        dtype = output.dtype if jnp.issubdtype(output.dtype, jnp.floating) else np.float64  # bfloat16 too
        echoed = np.asarray(output, float)
        known = np.isfinite(echoed)  # NaN where a run's unit was lost (a failed reference's 2/L)
        if not np.allclose(echoed[known], np.broadcast_to(swept, echoed.shape)[known],
                           rtol=4 * float(jnp.finfo(dtype).eps), atol=0):
            raise ValueError(f"output {name!r} is named as an axis but holds other values than it: rename the output "
                             "(the long format has one column per name, and writes the axis).")


def to_csv(results: Results, path, curves: bool = False) -> Path:
    """The long format of `rows` as a CSV file for pandas or a spreadsheet, written atomically."""
    path = Path(path)
    files.writable_directory(path.parent)
    header, lines = rows(results, curves)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(lines)
    data = text.getvalue().encode()
    return files.write_atomic(path, lambda file: file.write(data))


def to_dataframe(results: Results, curves: bool = False):
    """The long format of `rows` as a pandas DataFrame (pandas is optional: `pip install pandas`)."""
    try:
        import pandas
    except ImportError:
        raise ValueError("to_dataframe needs pandas: pip install pandas (or use to_csv).") from None
    header, lines = rows(results, curves)
    return pandas.DataFrame(list(lines), columns=header)

"""The lab's experiments: one module per lesson of the course.

Each module is a short script with `# %%` cells and the same interface:

    run(out="figures", quick=False, dtype="float64", seed=0) -> dict

which writes its figures `out/NAME*.png` and its key numbers `out/NAME.json`
(atomically, through `lab.files`) and returns those numbers. The first line
of the module's docstring says what it shows (`lab list` prints it).
"""

import importlib

NAMES = ("least_squares", "stability", "conditioning", "ridge", "model_selection", "logistic", "optimizers", "curvature", "autodiff")


def load(name: str):
    """The experiment module `name` (ValueError listing the names when unknown)."""
    if name not in NAMES:
        raise ValueError(f"unknown experiment {name!r}; the experiments are: {', '.join(NAMES)}.")
    return importlib.import_module(f"experiments.{name}")


def summary(name: str) -> str:
    """The first line of the experiment's docstring."""
    return (load(name).__doc__ or name).strip().splitlines()[0]

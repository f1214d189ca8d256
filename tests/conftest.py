"""Tests run in float64 by default (accuracy is the point); float32 tests ask for it explicitly.

The suite is bound by XLA compile time, not run time: on test-sized problems
LLVM's optimisation of the generated CPU code costs more than it saves, so
the tests compile as `lab run --quick` does (`lab.cli.FAST_COMPILE_XLA_FLAGS`: no LLVM
optimisation, XLA's elemental emitters instead of its fusion emitters, the module compiled
whole; set before JAX starts; the library and the experiments keep XLA's defaults).
"""

import atexit
import os
import shutil
import tempfile

if "LAB_CACHE_DIR" not in os.environ:  # the `lab` command's compilation cache: a temporary one, not the user's
    os.environ["LAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="lab-test-cache-")
    atexit.register(shutil.rmtree, os.environ["LAB_CACHE_DIR"], ignore_errors=True)

from lab.cli import fast_compile_xla_flags  # noqa: E402 (importing the lab starts no JAX backend)

os.environ["XLA_FLAGS"] = fast_compile_xla_flags(os.environ.get("XLA_FLAGS", ""))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
# The test processes share one compilation cache (the temporary LAB_CACHE_DIR above) with the `lab` commands the
# tests start: a program compiled by one worker or subprocess is read, not compiled again, by the others.
jax.config.update("jax_compilation_cache_dir", os.environ["LAB_CACHE_DIR"])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
# Strict dtype promotion, as optimistix's suite does: mixing float32 and float64 (or weak Python scalars into
# integer arrays) without saying so raises instead of silently computing in a dtype nobody asked for.
jax.config.update("jax_numpy_dtype_promotion", "strict")


# The longest files first (measured with --durations=0): xdist's loadfile hands whole files to the workers in this
# order as they free up, so the suite ends on short files instead of one worker finishing a long one alone.
LONGEST_FIRST = ("test_validation.py", "test_cli.py", "test_your_criterion.py", "test_lost_work.py",
                 "test_optimizer_table.py", "test_sweep.py", "test_logistic.py", "test_entropy_experiment.py",
                 "test_edge_of_stability.py", "test_optimizers.py", "test_sgd_experiment.py", "test_model_selection.py",
                 "test_atoms.py", "test_stability_experiment.py", "test_ridge_conditioning.py", "test_readme.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order

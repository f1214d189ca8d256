"""Tests run in float64 by default (accuracy is the point); float32 tests ask for it explicitly.

The suite is bound by XLA compile time, not run time: on test-sized problems
LLVM's optimisation of the generated CPU code costs more than it saves, so
the tests compile with --xla_backend_optimization_level=0 (set before JAX
starts; the library and the experiments keep XLA's defaults).
"""

import os

os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_backend_optimization_level=0".strip()

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

"""Tests run in float64 by default (accuracy is the point); float32 tests ask for it explicitly."""

import jax

jax.config.update("jax_enable_x64", True)

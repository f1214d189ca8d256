"""lab: a JAX-accelerated optimization lab.

Criteria are pure JAX functions `criterion(a, data) -> scalar`; the lab
differentiates, compiles and vectorises optimization runs on them and
measures each run against the exact optimum and the theory.
"""

from lab import criteria, descent, problems, reference, spectrum

__version__ = "0.1.0"
__all__ = ["criteria", "descent", "problems", "reference", "spectrum"]

"""Benchmarks: the lab beside hand-written loops, and its methods against the alternatives, side by side in one run."""

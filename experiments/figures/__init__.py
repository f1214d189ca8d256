"""The lessons' figures: `experiments/figures/NAME.py` draws what `experiments/NAME.py` computes.

A lesson reads as its computation and its numbers; how each figure is laid out (axes, labels,
legends) lives here, one module per lesson, each function taking the lesson's results and
returning a matplotlib Figure. Drawn off-screen (Agg): the lessons write PNG files.
"""

import matplotlib

matplotlib.use("Agg")

"""`python -m experiments` is the `lab` command."""

import sys

from experiments.cli import main

sys.exit(main())

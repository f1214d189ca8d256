"""The lab's three data sets, shipped as CSV files in lab/data/ (data/README.md: sources, exact copies, licences).

Each loader reads its file with `problems.load_csv`, as yours would be read:
X (N, D) in the file's units unless `standardize`, y (N,), the feature names;
`dtype` is that of X and y (default JAX's default float). The paths are
public too, for `lab sweep --data` or your own reader.
"""

from pathlib import Path

from lab import problems

DATA = Path(__file__).parent / "data"
DIABETES = DATA / "diabetes.csv"  # Efron et al. (2004): 442 patients, 10 features in their units, column "target"
BREAST_CANCER = DATA / "breast_cancer.csv"  # Wisconsin diagnostic: 569 tumours, 30 features, column "malignant"
DIGITS = DATA / "digits.csv"  # 500 of scikit-learn's 8 x 8 digits: pixel counts 0-16, column "digit"


def diabetes(*, standardize: bool = False, dtype=None):
    """Disease progression one year on (y) from 10 baseline variables of 442 patients: (442, 10), (442,), names.
    As scikit-learn's `load_diabetes(scaled=False)`; `standardize` centres and scales the columns."""
    return problems.load_csv(DIABETES, "target", standardize=standardize, dtype=dtype)


def breast_cancer(*, standardize: bool = False, dtype=None):
    """Malignant (y = 1) or benign (0) from 30 features of 569 breast masses: (569, 30), (569,), names. As
    scikit-learn's `load_breast_cancer()` with its label flipped (there malignant is 0)."""
    return problems.load_csv(BREAST_CANCER, "malignant", standardize=standardize, labels=True, dtype=dtype)


def digits(*, dtype=None):
    """The digit 0-9 (y) drawn in 8 x 8 pixels, each a count 0-16, of 500 images: (500, 64), (500,), names."""
    return problems.load_csv(DIGITS, "digit", dtype=dtype)

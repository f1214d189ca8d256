"""The shipped data sets: what `lab.datasets` reads is scikit-learn's data, as lab/data/README.md says."""

import hashlib
import re

import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import datasets as sklearn_datasets

from lab import datasets

README = (datasets.DATA / "README.md").read_text()


@pytest.mark.parametrize("path", [datasets.DIABETES, datasets.BREAST_CANCER, datasets.DIGITS], ids=lambda p: p.name)
def test_each_file_is_the_one_its_readme_describes(path):
    stated = re.search(rf"SHA-256 of `{path.name}`: `([0-9a-f]{{64}})`", README).group(1)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == stated


def test_diabetes_is_scikit_learns_in_its_units():
    X, y, names = datasets.diabetes()
    reference = sklearn_datasets.load_diabetes(scaled=False)
    assert names == ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    np.testing.assert_array_equal(X, reference.data)
    np.testing.assert_array_equal(y, reference.target)
    standardized, _, _ = datasets.diabetes(standardize=True, dtype=jnp.float32)
    assert standardized.dtype == jnp.float32
    np.testing.assert_allclose(np.mean(standardized, axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(np.std(standardized, axis=0), 1, rtol=1e-6)


def test_breast_cancer_is_scikit_learns_with_malignant_as_1():
    X, y, names = datasets.breast_cancer()
    reference = sklearn_datasets.load_breast_cancer()
    assert names == [name.replace(" ", "_") for name in reference.feature_names]
    np.testing.assert_allclose(X, reference.data, rtol=5e-10)  # written with 10 significant digits
    np.testing.assert_array_equal(y, 1 - reference.target)  # scikit-learn's malignant is 0
    assert int(np.sum(y)) == 212


def test_digits_are_the_documented_500_of_scikit_learns():
    X, y, names = datasets.digits()
    reference = sklearn_datasets.load_digits()
    rows = np.sort(np.random.default_rng(0).permutation(len(reference.target))[:500])
    assert names == [f"pixel_{i}_{j}" for i in range(8) for j in range(8)]
    np.testing.assert_array_equal(X, reference.data[rows])
    np.testing.assert_array_equal(y, reference.target[rows])

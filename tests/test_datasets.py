"""The shipped data sets: what `lab.datasets` reads is scikit-learn's data, as lab/data/README.md says."""

import hashlib
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lab import datasets, problems

README = (datasets.DATA / "README.md").read_text()


def _sklearn_datasets():
    from sklearn import datasets as sklearn_datasets  # here, not at collection: every worker would pay its 2 s
    return sklearn_datasets


@pytest.mark.parametrize("path", [datasets.DIABETES, datasets.BREAST_CANCER, datasets.DIGITS], ids=lambda p: p.name)
def test_each_file_is_the_one_its_readme_describes(path):
    stated = re.search(rf"SHA-256 of `{path.name}`: `([0-9a-f]{{64}})`", README).group(1)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == stated


def test_diabetes_is_scikit_learns_in_its_units():
    X, y, names = datasets.diabetes()
    reference = _sklearn_datasets().load_diabetes(scaled=False)
    assert names == ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    np.testing.assert_array_equal(X, reference.data)
    np.testing.assert_array_equal(y, reference.target)
    standardized, _, _ = datasets.diabetes(standardize=True, dtype=jnp.float32)
    assert standardized.dtype == jnp.float32
    np.testing.assert_allclose(np.mean(standardized, axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(np.std(standardized, axis=0), 1, rtol=1e-6)


def test_breast_cancer_is_scikit_learns_with_malignant_as_1():
    X, y, names = datasets.breast_cancer()
    reference = _sklearn_datasets().load_breast_cancer()
    assert names == [name.replace(" ", "_") for name in reference.feature_names]
    np.testing.assert_allclose(X, reference.data, rtol=5e-10)  # written with 10 significant digits
    np.testing.assert_array_equal(y, 1 - reference.target)  # scikit-learn's malignant is 0
    assert int(np.sum(y)) == 212


def test_digits_are_the_documented_500_of_scikit_learns():
    X, y, names = datasets.digits()
    reference = _sklearn_datasets().load_digits()
    rows = np.sort(np.random.default_rng(0).permutation(len(reference.target))[:500])
    assert names == [f"pixel_{i}_{j}" for i in range(8) for j in range(8)]
    np.testing.assert_array_equal(X, reference.data[rows])
    np.testing.assert_array_equal(y, reference.target[rows])


def test_a_csv_standardized_with_float64_off_is_its_float64_digits_standardized_then_cast(tmp_path):
    """With JAX's float64 switch off (its default; the suite turns it on) load_csv(standardize=True) standardised in
    float32: a column 1e6 + N(0, 1) came out with mean 0.016 and errors of 0.047 against numpy's float64
    standardisation (a probe's finding). Now numpy's float64 standardisation cast to float32, whatever the switch."""
    rng = np.random.default_rng(0)
    x, t = 1e6 + rng.normal(size=1000), rng.normal(size=1000)
    path = tmp_path / "offset.csv"
    path.write_text("x,t\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), t.tolist())))
    exact = (x - x.mean()) / x.std()  # float64, from the file's digits
    switched_on, _, _ = datasets.diabetes(standardize=True, dtype=jnp.float32)
    with jax.enable_x64(False):
        X, y, _ = problems.load_csv(path, "t", standardize=True, dtype=jnp.float32)
        switched_off, _, _ = datasets.diabetes(standardize=True, dtype=jnp.float32)
    assert X.dtype == y.dtype == switched_off.dtype == jnp.float32
    half_ulp = float(np.spacing(np.float32(4.0))) / 2  # float32's rounding of a standardised value below 4
    assert np.max(np.abs(exact)) < 4 and abs(float(np.mean(np.asarray(X, float)))) < 1e-6
    np.testing.assert_allclose(np.asarray(X[:, 0], float), exact, rtol=0, atol=half_ulp)
    np.testing.assert_allclose(np.asarray(switched_off, float), np.asarray(switched_on, float), rtol=0,
                               atol=2 * half_ulp)

"""Classifier two-sample test: AUC near 0.5 for one distribution, near 1 for two."""

from __future__ import annotations

import numpy as np
import pytest

from rotcurve.analysis.twosample import CLASSIFIERS, C2STResult, classifier_two_sample_test
from rotcurve.errors import ConfigError, DataError


def _curves(n: int, seed: int, *, shift: float = 0.0) -> np.ndarray:
    """Positive, correlated 'curves' (log-normal rows) with an optional log shift."""
    rng = np.random.default_rng(seed)
    base = np.linspace(1.0, 2.0, 12)
    amp = rng.normal(size=(n, 1))
    slope = rng.normal(size=(n, 1))
    x = np.linspace(-1, 1, 12)
    return 10 ** (base + 0.2 * amp + 0.1 * slope * x + shift * x**2)


def test_same_distribution_is_indistinguishable() -> None:
    res = classifier_two_sample_test(_curves(1500, 0), _curves(1500, 1), seed=0)
    assert isinstance(res, C2STResult)
    assert res.n == 1500
    assert len(res.fold_aucs) == 5
    assert abs(res.auc - 0.5) < 0.05
    assert res.auc == pytest.approx(np.mean(res.fold_aucs))


def test_shifted_distribution_is_detected() -> None:
    res = classifier_two_sample_test(_curves(1500, 2), _curves(1500, 3, shift=0.1), seed=0)
    assert res.auc > 0.95


def test_logistic_and_mlp_classifiers() -> None:
    a, b = _curves(600, 4), _curves(600, 5, shift=0.1)
    for name in ("logistic", "mlp"):
        assert classifier_two_sample_test(a, b, seed=1, classifier=name, folds=3).auc > 0.9
    assert set(CLASSIFIERS) == {"hgb", "mlp", "logistic"}


def test_classes_are_balanced_and_results_reproducible() -> None:
    a, b = _curves(300, 6), _curves(800, 7)
    r1 = classifier_two_sample_test(a, b, seed=3, folds=3)
    r2 = classifier_two_sample_test(a, b, seed=3, folds=3)
    assert r1.n == 300
    assert r1 == r2
    assert r1.to_dict()["fold_aucs"] == list(r1.fold_aucs)


def test_bad_input() -> None:
    a = _curves(50, 8)
    with pytest.raises(DataError, match="<= 0"):
        classifier_two_sample_test(a, -a, seed=0)
    assert 0.0 <= classifier_two_sample_test(a, -a, seed=0, log=False, folds=2).auc <= 1.0
    with pytest.raises(DataError, match="width"):
        classifier_two_sample_test(a, a[:, :5], seed=0)
    with pytest.raises(DataError, match="NaN"):
        classifier_two_sample_test(a, np.full_like(a, np.nan), seed=0)
    with pytest.raises(DataError, match="at least 10"):
        classifier_two_sample_test(a, a[:4], seed=0)
    with pytest.raises(ConfigError, match="folds"):
        classifier_two_sample_test(a, a, seed=0, folds=1)
    with pytest.raises(ConfigError, match="unknown classifier"):
        classifier_two_sample_test(a, a, seed=0, classifier="svm")

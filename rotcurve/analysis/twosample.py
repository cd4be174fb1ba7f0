"""Classifier two-sample test: can a classifier tell generated curves from real ones?

A classifier is trained to separate real from generated samples, with
cross-validation, and its held-out ROC AUC is the statistic (Lopez-Paz &
Oquab 2017, "Revisiting classifier two-sample tests", ICLR): 0.5 means the
two sets are indistinguishable to it, 1 means every sample is told apart.
The classes are balanced by subsampling the larger set; curves are compared
as ``log10 v`` by default, so the test weighs every radius by relative error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rotcurve.errors import ConfigError, DataError
from rotcurve.validation import is_int

__all__ = ["C2STResult", "CLASSIFIERS", "classifier_two_sample_test"]


@dataclass(frozen=True)
class C2STResult:
    """Outcome of :func:`classifier_two_sample_test`.

    Attributes
    ----------
    auc : float
        Mean held-out ROC AUC over the folds (0.5: indistinguishable).
    auc_std : float
        Standard deviation of the fold AUCs.
    n : int
        Samples per class after balancing.
    fold_aucs : tuple of float
        AUC of each fold.
    """

    auc: float
    auc_std: float
    n: int
    fold_aucs: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"auc": self.auc, "auc_std": self.auc_std, "n": self.n, "fold_aucs": list(self.fold_aucs)}


def _hgb(random_state: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.1, early_stopping=True, validation_fraction=0.1,
        n_iter_no_change=10, random_state=random_state,
    )


def _mlp(random_state: int) -> Any:
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        StandardScaler(),
        MLPClassifier(
            hidden_layer_sizes=(64, 64), batch_size=256, max_iter=200, early_stopping=True,
            n_iter_no_change=10, tol=1e-4, random_state=random_state,
        ),
    )


def _logistic(random_state: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


#: Classifiers by name: ``factory(random_state) -> estimator`` with
#: ``predict_proba``.  ``"hgb"`` (default; histogram gradient boosting, early
#: stopping) is fast and needs no scaling; ``"mlp"`` (2x64 ReLU on
#: standardised inputs) catches smooth differences; ``"logistic"`` only linear ones.
CLASSIFIERS: dict[str, Callable[[int], Any]] = {"hgb": _hgb, "mlp": _mlp, "logistic": _logistic}


def _features(x: Any, name: str, *, log: bool) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise DataError(f"{name} must be a 2-D array (N, D), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise DataError(f"{name} hold NaN or infinite values")
    if log:
        if np.any(a <= 0):
            raise DataError(
                f"{name} hold values <= 0, which have no logarithm; pass log=False to compare raw values"
            )
        a = np.log10(a)
    return a


def classifier_two_sample_test(
    real: np.ndarray,
    generated: np.ndarray,
    *,
    seed: int,
    folds: int = 5,
    log: bool = True,
    classifier: str = "hgb",
) -> C2STResult:
    """Cross-validated ROC AUC of a classifier separating two samples.

    Parameters
    ----------
    real : (N, D) array_like
        Reference samples, e.g. simulated curves in km/s.
    generated : (M, D) array_like
        Samples to test, same ``D``.
    seed : int, keyword-only
        Seeds the balancing subsample, the fold split and the classifier.
    folds : int, keyword-only
        Stratified cross-validation folds (>= 2).
    log : bool, keyword-only
        Compare ``log10`` of the values (needs them positive).
    classifier : str, keyword-only
        Key of :data:`CLASSIFIERS`.

    Returns
    -------
    C2STResult
        ``auc`` (mean over folds), ``auc_std``, ``n`` per class, ``fold_aucs``.

    Raises
    ------
    DataError
        Non-2-D, mismatched, non-finite or (with ``log``) non-positive input,
        or fewer samples than ``2 * folds`` per class.
    ConfigError
        An unknown classifier or fewer than 2 folds.
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    if classifier not in CLASSIFIERS:
        raise ConfigError(f"unknown classifier {classifier!r}; choose one of {', '.join(CLASSIFIERS)}")
    if not is_int(folds) or folds < 2:
        raise ConfigError(f"folds must be an integer >= 2, got {folds!r}")
    a = _features(real, "real samples", log=log)
    b = _features(generated, "generated samples", log=log)
    if a.shape[1] != b.shape[1]:
        raise DataError(f"real and generated samples differ in width: {a.shape[1]} vs {b.shape[1]}")
    n = min(a.shape[0], b.shape[0])
    if n < 2 * folds:
        raise DataError(f"need at least {2 * folds} samples of each kind for {folds} folds, got {n}")

    sub_seq, split_seq, model_seq = np.random.SeedSequence(seed).spawn(3)
    rng = np.random.default_rng(sub_seq)
    a = a[rng.permutation(a.shape[0])[:n]]
    b = b[rng.permutation(b.shape[0])[:n]]
    x = np.concatenate([a, b], axis=0)
    y = np.concatenate([np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64)])

    split = StratifiedKFold(
        n_splits=int(folds), shuffle=True, random_state=int(split_seq.generate_state(1)[0] >> 1)
    )
    states = model_seq.generate_state(int(folds))
    aucs = []
    for k, (train, test) in enumerate(split.split(x, y)):
        model = CLASSIFIERS[classifier](int(states[k] >> 1))
        # One thread: for these sizes (10^3-10^4 rows) the OpenMP/BLAS thread
        # pools cost more than they give, badly so on a busy machine.
        with threadpool_limits(limits=1):
            model.fit(x[train], y[train])
            score = model.predict_proba(x[test])[:, 1]
        aucs.append(float(roc_auc_score(y[test], score)))
    values = np.array(aucs)
    return C2STResult(
        auc=float(values.mean()),
        auc_std=float(values.std(ddof=1)),
        n=int(n),
        fold_aucs=tuple(aucs),
    )

"""Latent variables versus the physical parameters that generated the curves.

Two questions about a trained model's latent means ``z`` (N, d):

* :func:`correlations` -- how each latent dimension correlates, linearly
  (Pearson) and monotonically (Spearman), with ``log10`` of each parameter;
* :func:`predictability` -- how much of each ``log10`` parameter the latents
  determine: the held-out R^2 of a linear model and of a small neural network
  (or another regressor of :data:`REGRESSORS`) predicting it from ``z``.

Both take plain arrays, so they work on any features: latent means of a VAE,
codes of an autoencoder, or the (log) curves themselves as a baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from rotcurve.errors import ConfigError, DataError
from rotcurve.units import PARAM_NAMES

__all__ = [
    "PARAM_NAMES",
    "PARAM_LABELS",
    "REGRESSORS",
    "latent_names",
    "log10_params",
    "correlations",
    "predictability",
]


#: Axis labels of ``log10`` of each parameter, with units.
PARAM_LABELS: dict[str, str] = {
    "Md": r"$\log_{10} M_d$ [M$_\odot$]",
    "Rd": r"$\log_{10} R_d$ [kpc]",
    "Mh": r"$\log_{10} M_h$ [M$_\odot$]",
    "c": r"$\log_{10} c$",
}


def latent_names(d: int) -> list[str]:
    """Names ``z1 ... zd`` of ``d`` latent dimensions (one-based, as in figures)."""
    return [f"z{i + 1}" for i in range(d)]


def log10_params(params: Mapping[str, Any] | pd.DataFrame) -> pd.DataFrame:
    """``log10`` of Md [Msun], Rd [kpc], Mh [Msun], c as a DataFrame.

    Parameters
    ----------
    params : mapping, pandas.DataFrame or numpy structured array
        Columns ``Md``, ``Rd``, ``Mh``, ``c`` in physical units, each (N,),
        finite and positive (other columns are ignored).

    Returns
    -------
    pandas.DataFrame
        Shape (N, 4), columns ``Md``, ``Rd``, ``Mh``, ``c`` holding ``log10``
        values, float64.

    Raises
    ------
    DataError
        A column is missing, lengths differ, or a value is not finite and positive.
    """
    names = getattr(getattr(params, "dtype", None), "names", None)
    if names is not None:
        params = {n: params[n] for n in names}
    columns = {}
    for name in PARAM_NAMES:
        try:
            value = params[name]
        except (KeyError, IndexError, ValueError, TypeError):
            raise DataError(
                f"parameters lack '{name}'; give a DataFrame or dict with Md, Rd, Mh, c"
            ) from None
        column = np.asarray(value, dtype=np.float64)
        if column.ndim != 1:
            raise DataError(f"parameter {name} must be a 1-D array, got shape {column.shape}")
        bad = ~(np.isfinite(column) & (column > 0))
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"parameter {name} must be finite and positive; {name}[{i}] = {column[i]!r}"
            )
        columns[name] = np.log10(column)
    lengths = {c.size for c in columns.values()}
    if len(lengths) != 1:
        raise DataError(f"parameters have different lengths: {sorted(lengths)}")
    return pd.DataFrame(columns)


def _check_pair(latents: Any, params: Any) -> tuple[np.ndarray, pd.DataFrame]:
    z = np.asarray(latents, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] < 1:
        raise DataError(f"latents must be a 2-D array (N, d), got shape {z.shape}")
    if not np.all(np.isfinite(z)):
        raise DataError("latents hold NaN or infinite values; check the encoder output")
    logp = log10_params(params)
    if len(logp) != z.shape[0]:
        raise DataError(
            f"latents have {z.shape[0]} rows but the parameters {len(logp)}; give one row per curve"
        )
    return z, logp


def correlations(latents: np.ndarray, params: Mapping[str, Any] | pd.DataFrame) -> pd.DataFrame:
    """Pearson and Spearman correlation of each latent with each ``log10`` parameter.

    Parameters
    ----------
    latents : (N, d) array_like
        Latent means (any units), N >= 3.
    params : mapping or pandas.DataFrame
        ``Md`` [Msun], ``Rd`` [kpc], ``Mh`` [Msun], ``c``: (N,) each.

    Returns
    -------
    pandas.DataFrame
        Tidy table with ``4 d`` rows and columns ``latent`` (``z1`` ...),
        ``parameter`` (``Md`` ...; the correlation is with its ``log10``),
        ``pearson``, ``pearson_p``, ``spearman``, ``spearman_p``.  A constant
        column gives NaN coefficients (undefined), never a made-up number.

    Raises
    ------
    DataError
        On mismatched lengths, non-finite latents or invalid parameters.
    """
    from scipy import stats

    z, logp = _check_pair(latents, params)
    if z.shape[0] < 3:
        raise DataError(f"correlations need at least 3 curves, got {z.shape[0]}")
    rows = []
    for j, zname in enumerate(latent_names(z.shape[1])):
        for name in PARAM_NAMES:
            x, y = z[:, j], logp[name].to_numpy()
            if np.ptp(x) == 0 or np.ptp(y) == 0:
                r = rp = rho = rhop = float("nan")
            else:
                r, rp = stats.pearsonr(x, y)
                rho, rhop = stats.spearmanr(x, y)
            rows.append(
                {
                    "latent": zname,
                    "parameter": name,
                    "pearson": float(r),
                    "pearson_p": float(rp),
                    "spearman": float(rho),
                    "spearman_p": float(rhop),
                }
            )
    return pd.DataFrame(rows)


def _mlp(random_state: int) -> Any:
    from sklearn.neural_network import MLPRegressor

    return MLPRegressor(
        hidden_layer_sizes=(64, 64),
        activation="relu",
        learning_rate_init=1e-3,
        batch_size=256,
        max_iter=300,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-5,
        random_state=random_state,
    )


def _knn(random_state: int) -> Any:
    from sklearn.neighbors import KNeighborsRegressor

    return KNeighborsRegressor(n_neighbors=10, weights="distance")


def _hgb(random_state: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.multioutput import MultiOutputRegressor

    return MultiOutputRegressor(HistGradientBoostingRegressor(max_iter=300, random_state=random_state))


#: Non-linear regressors by name: ``factory(random_state) -> estimator`` that
#: fits all (standardised) targets at once.  ``"mlp"`` (default, 2x64 ReLU with
#: early stopping) is the most accurate on smooth maps; ``"knn"`` (10
#: neighbours, distance-weighted) takes a fraction of a second; ``"hgb"``
#: (gradient-boosted trees, one per target) is robust to irrelevant dimensions.
REGRESSORS: dict[str, Callable[[int], Any]] = {"mlp": _mlp, "knn": _knn, "hgb": _hgb}


def predictability(
    latents: np.ndarray,
    params: Mapping[str, Any] | pd.DataFrame,
    *,
    seed: int,
    test_fraction: float = 0.25,
    regressor: str = "mlp",
) -> pd.DataFrame:
    """Held-out R^2 of predicting each ``log10`` parameter from the latents.

    Inputs and targets are standardised on the training split; a linear
    least-squares model and the non-linear ``regressor`` are fitted on the
    training split and scored on the held-out one.

    Parameters
    ----------
    latents : (N, d) array_like
        Latent means (or any features, e.g. ``log10`` curves for a baseline).
    params : mapping or pandas.DataFrame
        ``Md`` [Msun], ``Rd`` [kpc], ``Mh`` [Msun], ``c``: (N,) each.
    seed : int, keyword-only
        Seeds the split and the regressor (one ``SeedSequence``).
    test_fraction : float, keyword-only
        Held-out fraction in (0, 1); both splits need at least 10 rows.
    regressor : str, keyword-only
        Key of :data:`REGRESSORS`.

    Returns
    -------
    pandas.DataFrame
        One row per parameter (``Md``, ``Rd``, ``Mh``, ``c``; targets are their
        ``log10``), columns ``parameter``, ``r2_linear``, ``r2_nonlinear``,
        ``n_train``, ``n_test``.  R^2 is ``1 - SSE / SST`` on the test split
        (1 is perfect, 0 is no better than the mean, negative is worse).

    Raises
    ------
    DataError
        On invalid inputs or too few rows.
    ConfigError
        On an unknown regressor or a test fraction outside (0, 1).
    """
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score
    from threadpoolctl import threadpool_limits

    if regressor not in REGRESSORS:
        raise ConfigError(f"unknown regressor {regressor!r}; choose one of {', '.join(REGRESSORS)}")
    if not (isinstance(test_fraction, (int, float)) and 0.0 < test_fraction < 1.0):
        raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    z, logp = _check_pair(latents, params)
    n = z.shape[0]
    n_test = int(round(test_fraction * n))
    if n_test < 10 or n - n_test < 10:
        raise DataError(f"predictability needs at least 10 training and 10 test rows; got {n} rows")
    split_seq, model_seq = np.random.SeedSequence(seed).spawn(2)
    order = np.random.default_rng(split_seq).permutation(n)
    test, train = order[:n_test], order[n_test:]
    y = logp.to_numpy()

    x_mean, x_std = z[train].mean(axis=0), z[train].std(axis=0)
    x_std[x_std == 0] = 1.0
    y_mean, y_std = y[train].mean(axis=0), y[train].std(axis=0)
    y_std[y_std == 0] = 1.0
    xs = (z - x_mean) / x_std
    ys = (y - y_mean) / y_std

    linear = LinearRegression().fit(xs[train], ys[train])
    pred_lin = linear.predict(xs[test]) * y_std + y_mean
    model = REGRESSORS[regressor](int(model_seq.generate_state(1)[0] >> 1))
    # One thread: the matrices are small (batches of 256 x 64) and thread
    # pools cost more than they give, badly so on a busy machine.
    with threadpool_limits(limits=1):
        model.fit(xs[train], ys[train])
        pred_nl = np.asarray(model.predict(xs[test])).reshape(n_test, -1) * y_std + y_mean

    rows = []
    for j, name in enumerate(PARAM_NAMES):
        rows.append(
            {
                "parameter": name,
                "r2_linear": float(r2_score(y[test, j], pred_lin[:, j])),
                "r2_nonlinear": float(r2_score(y[test, j], pred_nl[:, j])),
                "n_train": int(train.size),
                "n_test": int(test.size),
            }
        )
    return pd.DataFrame(rows)

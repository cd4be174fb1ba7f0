"""Batched least-squares fits of the disc-plus-halo model to many rotation curves.

Every curve is fitted with the four-parameter model of :mod:`rotcurve.physics`
(an exponential disc of mass ``Md`` and scale length ``Rd`` plus an NFW halo of
mass ``Mh`` and concentration ``c``)::

    v^2(R) = 2 G Md / Rd * y^2 [I0(y) K0(y) - I1(y) K1(y)]      y = R / (2 Rd)
           + G Mh / R * f(c R / r_Delta) / f(c)                 f(x) = ln(1+x) - x/(1+x)

with ``r_Delta = (2 G Mh / (Delta H0^2))^(1/3)``.  The unknowns are the
``log10`` of the four parameters, kept inside box bounds, and the residuals
are ``ln v_model - ln v`` (fractional residuals to first order).

The fit is vectorised over all curves at once:

1. a *bank* of model curves is simulated (parameters three quarters from a
   prior, by default the reference prior, one quarter log-uniform inside the
   bounds), and each curve starts from its nearest bank curve (Euclidean
   distance of ``ln v``, i.e. the RMS log residual);
2. a projected Levenberg-Marquardt iteration with analytic Jacobians runs on
   every curve together in numpy (4x4 normal equations per curve), with
   per-curve damping, a trust region of 0.3 dex per step, and parameters that
   sit on a bound and are pushed outwards frozen;
3. curves whose RMS log residual is still above ``retry_above`` are restarted
   from their next-nearest bank curves and from a grid of disc parameters
   (halo kept): every start is screened for a few iterations, the best one is
   refined, and the better of the two fits is kept.  This rescues the two
   local minima of the problem: a sub-dominant disc that the fit switched
   off, and an extended disc that mimics the halo.

The model values come from :mod:`rotcurve.physics` (``disc_shape`` with its
tabulated fast path, ``nfw_f``, ``r_delta``); the derivatives are analytic
(the disc's from the same cubic table).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rotcurve.errors import ConfigError, DataError
from rotcurve.generator.priors import ReferencePrior
from rotcurve.physics import check_params, disc_shape, disc_shape_dlogy, nfw_f, r_delta
from rotcurve.physics.disc import disc_table
from rotcurve.units import DELTA_DEFAULT, H0_DEFAULT, PARAM_NAMES, G
from rotcurve.validation import is_int

__all__ = [
    "PARAM_NAMES",
    "DEFAULT_LOG10_BOUNDS",
    "CurveFit",
    "fit_rotation_curves",
]

#: Default box bounds of the fit, as ``log10`` of Md [Msun], Rd [kpc], Mh [Msun], c [1].
#: They enclose the reference prior with a wide margin.
DEFAULT_LOG10_BOUNDS: dict[str, tuple[float, float]] = {
    "Md": (6.0, 13.0),
    "Rd": (-2.0, 2.5),
    "Mh": (8.0, 15.0),
    "c": (0.0, 2.0),
}

_LN10 = math.log(10.0)
# Largest change of any log10 parameter in one Levenberg-Marquardt step (dex).
_MAX_STEP = 0.3
# Restarts for poor fits (each screened for _SCREEN_ITER iterations, the best
# refined): disc parameters (log10 Md [Msun], log10 Rd [kpc])
# put on this grid, the halo kept from the best fit so far.
_SCREEN_ITER = 10
_DISC_GRID = tuple((md, rd) for md in (8.5, 9.5, 10.5, 11.5) for rd in (-0.5, 0.25, 1.0, 1.6))


@dataclass(frozen=True)
class CurveFit:
    """Best fits of the disc-plus-halo model to a set of curves.

    Attributes
    ----------
    params : pandas.DataFrame
        Best-fit parameters, columns ``Md`` [Msun], ``Rd`` [kpc], ``Mh`` [Msun],
        ``c`` [1]; one row per curve, shape (N, 4).
    rms_frac : numpy.ndarray
        Root-mean-square fractional residual ``v_fit / v - 1`` over the radii,
        shape (N,).
    max_frac : numpy.ndarray
        Largest absolute fractional residual over the radii, shape (N,).
    v_fit : numpy.ndarray
        Best-fit model curves in km/s, shape (N, n_r).
    at_bound : numpy.ndarray
        Boolean, shape (N, 4): the fitted ``log10`` parameter sits on a bound.
    """

    params: pd.DataFrame
    rms_frac: np.ndarray
    max_frac: np.ndarray
    v_fit: np.ndarray
    at_bound: np.ndarray


def _disc_shape_and_dlogy(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``g(y)`` and ``dg / dln y`` of the disc, from the physics' cubic table.

    The derivative of the piecewise cubic Hermite table (nodes 1/128 apart in
    ``ln y``) is accurate to about 1e-7 relative, plenty for a Jacobian; the
    values are those of ``disc_shape(y, method="fast")``.  Points outside the
    table use the exact functions.
    """
    table = disc_table()
    with np.errstate(divide="ignore"):
        u = (np.log(y) - table.t0) * table.inv_h
    inside = (u >= 0.0) & (u < table.n)
    if not inside.all():
        g = disc_shape(y, method="exact")
        dg = disc_shape_dlogy(y)
        if inside.any():
            g_in, dg_in = _disc_shape_and_dlogy(y[inside])
            g[inside] = g_in
            dg[inside] = dg_in
        return g, dg
    k = u.astype(np.intp)
    s = u - k
    coef = table.coef.take(k, axis=0)
    c0, c1, c2, c3 = coef[..., 0], coef[..., 1], coef[..., 2], coef[..., 3]
    g = c0 + s * (c1 + s * (c2 + s * c3))
    dg = (c1 + s * (2.0 * c2 + 3.0 * s * c3)) * table.inv_h
    return g, dg


def _model(
    theta: np.ndarray, radii: np.ndarray, *, H0: float, Delta: float, jacobian: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """``ln v`` of the model and its derivatives with respect to ``log10`` parameters.

    Parameters
    ----------
    theta : (N, 4) float64
        ``log10`` of Md [Msun], Rd [kpc], Mh [Msun], c.
    radii : (n_r,) float64, kpc, positive.

    Returns
    -------
    lnv : (N, n_r)
        Natural log of the circular velocity in km/s.
    jac : (N, n_r, 4) or None
        ``d lnv / d theta``.
    """
    Md = 10.0 ** theta[:, 0:1]
    Rd = 10.0 ** theta[:, 1:2]
    Mh = 10.0 ** theta[:, 2:3]
    c = 10.0 ** theta[:, 3:4]
    R = radii[None, :]

    y = R / (2.0 * Rd)
    if jacobian:
        g, dg = _disc_shape_and_dlogy(y)
    else:
        g = disc_shape(y, method="fast")
    A = 2.0 * G * Md / Rd
    vd2 = A * g

    x = c * R / r_delta(Mh, H0=H0, Delta=Delta)
    fx = nfw_f(x)
    fc = nfw_f(c)
    h = G * Mh / (R * fc)
    vh2 = h * fx

    v2 = vd2 + vh2
    lnv = 0.5 * np.log(v2)
    if not jacobian:
        return lnv, None

    # v_disc^2 = A g(y), A ~ Md / Rd, y ~ 1 / Rd;  v_halo^2 = h f(x), h ~ Mh / f(c),
    # x ~ c Mh^(-1/3);  f'(u) = u / (1 + u)^2.
    dvd2_dlnRd = -vd2 - A * dg
    x_fpx = x * x / (1.0 + x) ** 2
    dvh2_dlnMh = vh2 - h * x_fpx / 3.0
    dvh2_dlnc = h * (x_fpx - fx * (c * c / (1.0 + c) ** 2) / fc)
    scale = 0.5 * _LN10 / v2
    jac = np.stack([vd2 * scale, dvd2_dlnRd * scale, dvh2_dlnMh * scale, dvh2_dlnc * scale], axis=-1)
    return lnv, jac


def _check_radii(radii: np.ndarray) -> np.ndarray:
    radii = np.asarray(radii, dtype=np.float64)
    if radii.ndim != 1 or radii.size < 1:
        raise DataError(f"radii must be a 1-D array of kpc, got shape {radii.shape}")
    if not np.all(np.isfinite(radii)) or np.any(radii <= 0):
        raise DataError("radii must be finite and positive (kpc)")
    return radii


def _bounds_array(bounds: Mapping[str, tuple[float, float]] | None) -> np.ndarray:
    merged = dict(DEFAULT_LOG10_BOUNDS)
    if bounds is not None:
        unknown = sorted(set(bounds) - set(PARAM_NAMES))
        if unknown:
            raise ConfigError(
                f"unknown bound{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                f"allowed: {', '.join(PARAM_NAMES)}"
            )
        merged.update(bounds)
    out = np.array([merged[name] for name in PARAM_NAMES], dtype=np.float64)
    if not np.all(np.isfinite(out)) or np.any(out[:, 0] >= out[:, 1]):
        raise ConfigError(f"log10 bounds must be finite (low, high) pairs with low < high, got {merged}")
    return out


def _levenberg_marquardt(
    theta: np.ndarray,
    target: np.ndarray,
    radii: np.ndarray,
    bounds: np.ndarray,
    *,
    H0: float,
    Delta: float,
    max_iter: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Projected LM on all curves at once; returns (theta (N,4), cost (N,))."""
    theta = np.clip(theta, bounds[:, 0], bounds[:, 1]).copy()
    n = theta.shape[0]
    lnv, jac = _model(theta, radii, H0=H0, Delta=Delta, jacobian=True)
    resid = lnv - target
    cost = np.einsum("nr,nr->n", resid, resid)
    lam = np.full(n, 1.0e-3)
    active = np.arange(n)
    eye = np.eye(4)
    lo, hi = bounds[:, 0], bounds[:, 1]
    floor = 1.0e-14 * radii.size  # cost at which a fit is exact to float64 rounding
    for _ in range(max_iter):
        if active.size == 0:
            break
        J = jac[active]
        r = resid[active]
        th = theta[active]
        grad = np.einsum("nri,nr->ni", J, r)
        JTJ = np.einsum("nri,nrj->nij", J, J)
        # Freeze parameters on a bound whose descent direction points outwards.
        frozen = ((th <= lo) & (grad > 0)) | ((th >= hi) & (grad < 0))
        free = ~frozen
        diag = np.einsum("nii->ni", JTJ)
        damp = lam[active, None] * np.maximum(diag, 1.0e-12 * diag.max(axis=1, keepdims=True) + 1e-30)
        A = JTJ * (free[:, :, None] & free[:, None, :]) + eye * np.where(free, damp, 1.0)[:, None, :]
        b = -np.where(free, grad, 0.0)
        step = np.linalg.solve(A, b[..., None])[..., 0]
        # Trust region: at most _MAX_STEP dex per parameter and iteration.
        biggest = np.abs(step).max(axis=1, keepdims=True)
        step *= np.minimum(1.0, _MAX_STEP / np.maximum(biggest, 1e-300))
        candidate = np.clip(th + step, lo, hi)
        lnv_c, jac_c = _model(candidate, radii, H0=H0, Delta=Delta, jacobian=True)
        resid_c = lnv_c - target[active]
        cost_c = np.einsum("nr,nr->n", resid_c, resid_c)
        accept = cost_c < cost[active]
        old_cost = cost[active]
        acc = active[accept]
        theta[acc] = candidate[accept]
        resid[acc] = resid_c[accept]
        jac[acc] = jac_c[accept]
        cost[acc] = cost_c[accept]
        lam[acc] = np.maximum(lam[acc] / 3.0, 1.0e-9)
        rej = active[~accept]
        lam[rej] *= 4.0
        moved = np.abs(candidate - th).max(axis=1)
        done = (
            (accept & ((old_cost - cost_c) <= 1.0e-10 * old_cost) & (moved < 1.0e-8))
            | (cost[active] <= floor)
            | (lam[active] > 1.0e10)
        )
        active = active[~done]
    return theta, cost


def _nearest_bank(
    target: np.ndarray, bank_lnv: np.ndarray, k: int, *, chunk: int = 1024
) -> np.ndarray:
    """Indices (N, k) of the ``k`` bank curves nearest to each target (Euclidean on ln v)."""
    centre = bank_lnv.mean(axis=0)
    bank = bank_lnv - centre
    bank_sq = np.einsum("br,br->b", bank, bank)
    out = np.empty((target.shape[0], k), dtype=np.int64)
    for start in range(0, target.shape[0], chunk):
        t = target[start : start + chunk] - centre
        d2 = bank_sq[None, :] - 2.0 * t @ bank.T  # |t|^2 is constant per row
        idx = np.argpartition(d2, k - 1, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(d2, idx, axis=1), axis=1)
        out[start : start + chunk] = np.take_along_axis(idx, order, axis=1)
    return out


def _fit_chunk(
    target: np.ndarray,
    radii: np.ndarray,
    bounds: np.ndarray,
    bank_theta: np.ndarray,
    bank_lnv: np.ndarray,
    *,
    n_starts: int,
    retry_above: float,
    H0: float,
    Delta: float,
    max_iter: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``target`` (n, n_r) ln v from the bank, restarting poor fits; (theta, cost)."""
    nearest = _nearest_bank(target, bank_lnv, n_starts)
    theta, cost = _levenberg_marquardt(
        bank_theta[nearest[:, 0]], target, radii, bounds, H0=H0, Delta=Delta, max_iter=max_iter
    )
    redo = np.flatnonzero(cost > retry_above**2 * radii.size)
    if redo.size == 0:
        return theta, cost
    # Restarts: the next-nearest bank curves, and the best fit so far with its
    # disc moved onto a grid (the fit can lose a sub-dominant disc, or trade it
    # for an extended one that mimics the halo).
    starts = [bank_theta[nearest[redo, s]] for s in range(1, n_starts)]
    for md, rd in _DISC_GRID:
        start = theta[redo].copy()
        start[:, 0] = md
        start[:, 1] = rd
        starts.append(start)
    # Screen every start with a few iterations, then refine the best one per curve.
    stacked = np.concatenate(starts, axis=0)
    th, co = _levenberg_marquardt(
        stacked, np.tile(target[redo], (len(starts), 1)), radii, bounds,
        H0=H0, Delta=Delta, max_iter=min(_SCREEN_ITER, max_iter),
    )
    rows = np.arange(redo.size)
    best = np.argmin(co.reshape(len(starts), redo.size), axis=0)
    th, co = _levenberg_marquardt(
        th.reshape(len(starts), redo.size, 4)[best, rows], target[redo], radii, bounds,
        H0=H0, Delta=Delta, max_iter=max_iter,
    )
    better = co < cost[redo]
    theta[redo[better]] = th[better]
    cost[redo[better]] = co[better]
    return theta, cost


def _bank(size: int, box: np.ndarray, prior: object | None, seed: int) -> np.ndarray:
    """(size, 4) log10 parameters: 3/4 from the prior, 1/4 log-uniform in the box."""
    if prior is None:
        prior = ReferencePrior()
    sample = getattr(prior, "sample", None)
    if not callable(sample):
        raise ConfigError(
            f"prior must have a sample(n, rng) method (e.g. ReferencePrior()), got {type(prior).__name__}"
        )
    prior_seq, box_seq = np.random.SeedSequence(seed).spawn(2)
    n_prior = size - size // 4
    drawn = check_params(sample(n_prior, np.random.default_rng(prior_seq)), PARAM_NAMES)
    from_prior = np.log10(np.column_stack([drawn[name] for name in PARAM_NAMES]))
    rng = np.random.default_rng(box_seq)
    from_box = box[:, 0] + (box[:, 1] - box[:, 0]) * rng.random((size - n_prior, 4))
    return np.clip(np.concatenate([from_prior, from_box], axis=0), box[:, 0], box[:, 1])


def fit_rotation_curves(
    curves: np.ndarray,
    radii: np.ndarray,
    *,
    bank_size: int = 5000,
    seed: int = 0,
    n_jobs: int = 1,
    n_starts: int = 3,
    retry_above: float = 1.0e-4,
    max_iter: int = 100,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    prior: object | None = None,
    H0: float = H0_DEFAULT,
    Delta: float = DELTA_DEFAULT,
) -> CurveFit:
    """Fit the disc-plus-halo model to every curve by least squares in log space.

    Parameters
    ----------
    curves : (N, n_r) or (n_r,) array_like
        Circular velocities in km/s, finite and positive.
    radii : (n_r,) array_like
        Radii of the curve samples in kpc, positive.
    bank_size : int, keyword-only
        Number of simulated curves from which each fit starts at its nearest
        neighbours: three quarters drawn from ``prior``, one quarter
        log-uniform inside ``bounds``.
    seed : int, keyword-only
        Seed of the bank's parameters (the only random stream).
    n_jobs : int, keyword-only
        Threads over chunks of curves (numpy releases the GIL in the heavy
        array operations); ``-1`` uses every core.
    n_starts : int, keyword-only
        Nearest bank curves used as starts: the nearest first, the others
        (with the disc grid) for curves still above ``retry_above``.
    retry_above : float, keyword-only
        RMS log residual (about the RMS fractional residual) above which a
        curve is refitted from the other starts.  Exact model curves fit to
        ~1e-8; lowering it never makes a fit worse, only slower.
    max_iter : int, keyword-only
        Levenberg-Marquardt iterations per start.
    bounds : mapping, keyword-only
        ``{"Md": (lo, hi), ...}`` in ``log10`` of Msun, kpc, Msun, 1, overriding
        :data:`DEFAULT_LOG10_BOUNDS` for the parameters given.
    prior : object with ``sample(n, rng)``, keyword-only
        Parameter distribution of the bank (a :mod:`rotcurve.generator.priors`
        prior); default the reference prior.
    H0 : float, keyword-only
        Hubble constant in km/s/Mpc.
    Delta : float, keyword-only
        Halo overdensity relative to the critical density.

    Returns
    -------
    CurveFit
        Best-fit parameters and residual statistics.

    Raises
    ------
    DataError
        If ``curves`` is not (N, n_r) with n_r matching ``radii``, or holds a
        non-finite or non-positive velocity.
    ConfigError
        On invalid options.
    """
    radii = _check_radii(radii)
    curves = np.asarray(curves, dtype=np.float64)
    if curves.ndim == 1:
        curves = curves[None, :]
    if curves.ndim != 2 or curves.shape[1] != radii.size:
        raise DataError(
            f"curves must have shape (N, {radii.size}) to match the radii, got {curves.shape}"
        )
    if curves.shape[0] == 0:
        raise DataError("no curves to fit; give at least one curve")
    bad = ~np.isfinite(curves) | (curves <= 0)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"{int(bad.sum())} velocities are not finite and positive "
            f"(first: curve {row}, radius {col}: {curves[row, col]!r} km/s); "
            "a rotation curve must be positive km/s everywhere"
        )
    if not is_int(bank_size) or bank_size < 1:
        raise ConfigError(f"bank_size must be a positive integer, got {bank_size!r}")
    if not 1 <= n_starts <= bank_size:
        raise ConfigError(f"n_starts must be between 1 and bank_size, got {n_starts!r}")
    if not (isinstance(retry_above, (int, float)) and retry_above >= 0):
        raise ConfigError(f"retry_above must be a number >= 0, got {retry_above!r}")
    if max_iter < 1:
        raise ConfigError(f"max_iter must be at least 1, got {max_iter!r}")
    if not is_int(n_jobs):
        raise ConfigError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")
    if n_jobs == -1:
        import os

        n_jobs = os.cpu_count() or 1
    if n_jobs < 1:
        raise ConfigError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")
    box = _bounds_array(bounds)

    bank_theta = _bank(int(bank_size), box, prior, seed)
    bank_lnv, _ = _model(bank_theta, radii, H0=H0, Delta=Delta, jacobian=False)
    target = np.log(curves)

    def work(sl: slice) -> tuple[np.ndarray, np.ndarray]:
        return _fit_chunk(
            target[sl], radii, box, bank_theta, bank_lnv,
            n_starts=n_starts, retry_above=retry_above, H0=H0, Delta=Delta, max_iter=max_iter,
        )

    n = curves.shape[0]
    chunk = max(256, -(-n // (4 * n_jobs)))
    slices = [slice(s, min(s + chunk, n)) for s in range(0, n, chunk)]
    if n_jobs == 1 or len(slices) == 1:
        results = [work(sl) for sl in slices]
    else:
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            results = list(pool.map(work, slices))
    theta = np.concatenate([r[0] for r in results], axis=0)

    lnv, _ = _model(theta, radii, H0=H0, Delta=Delta, jacobian=False)
    v_fit = np.exp(lnv)
    frac = v_fit / curves - 1.0
    params = pd.DataFrame(10.0**theta, columns=list(PARAM_NAMES))
    at_bound = (theta <= box[:, 0]) | (theta >= box[:, 1])
    return CurveFit(
        params=params,
        rms_frac=np.sqrt(np.mean(frac**2, axis=1)),
        max_frac=np.abs(frac).max(axis=1),
        v_fit=v_fit,
        at_bound=at_bound,
    )

"""The ``mcmc`` method: emcee's ensemble sampler, started at the MAP, run to convergence.

1. The MAP point (:func:`rotcurve.inference.optimize.find_map`, scipy SLSQP
   from the best of a batch of prior draws).
2. ``n_walkers`` walkers in a small Gaussian ball around it: ``ball`` times
   the posterior's width from the Hessian at the MAP (central differences,
   one vectorised call), or, where that Hessian is not negative definite (a
   MAP on a prior bound), ``1e-4`` of the prior box; walkers with zero
   density are redrawn closer.  Starting at the posterior's own scale shortens
   the transient while the ensemble spreads, which the autocorrelation
   estimate would otherwise carry for a long time (on mock galaxies, 15 %
   fewer steps to convergence than a tiny ball).
3. :class:`emcee.EnsembleSampler` with ``vectorize=True``: one call of the
   vectorised :class:`~rotcurve.inference.posterior.Posterior` per half-ensemble
   update.  Default move: differential evolution (:class:`emcee.moves.DEMove`),
   which on these posteriors gives autocorrelation times about 3 times shorter
   than emcee's default stretch move (e.g. NGC 3198: 12 against 36 steps) and
   somewhat shorter than a DE/stretch mix.  96 walkers: a step is dominated by
   emcee's fixed per-step cost (on SPARC galaxies 0.35 ms for 24 walkers,
   0.42 ms for 48, 0.49 ms for 96, 0.52 ms for 128), while ``tau`` in steps does
   not depend on the number of walkers (from 32 up), so independent samples per
   second grow almost in proportion to the walkers (96 walkers: 0.55 times the
   cost per independent sample of 48).  More than 96 mostly buy samples beyond
   ``min_n_eff`` on the easy galaxies, whose chains the ``tau`` checks keep
   longer than ``min_n_eff`` needs.
4. The chain is extended in chunks of ``check_every`` steps.  After a chunk the
   integrated autocorrelation time ``tau`` of every coordinate is estimated
   (emcee's estimator, :func:`emcee.autocorr.integrated_time` with ``tol=0``,
   computed by :func:`rotcurve.inference.autocorr.integrated_time` in one FFT).  The run is
   *converged* when the chain is longer than ``tau_factor * tau`` for every
   coordinate, no ``tau`` changed by more than ``tau_rtol`` (relative) since
   the previous check (emcee's own recipe), and the chain holds ``min_n_eff``
   independent samples.  Checks come every ``check_every`` steps or every
   2.5 ``tau`` where that is shorter (emcee's documentation checks every 100
   steps for ``tau`` of about 40: the 1 % test then asks the same of a galaxy
   with ``tau`` = 10 as of one with ``tau`` = 40, instead of a chain 50 % longer);
   checks that the last ``tau`` says cannot pass are skipped (the next one is
   where the chain would be long enough).  At ``max_steps`` without that, it
   stops and is flagged ``converged = False``.

   Why ``tau_factor = 25`` and ``min_n_eff = 3000`` (emcee's documentation
   uses 50 ``tau``): what the posterior quantiles need is independent samples,
   a few thousand (the Monte-Carlo error of a 16 % or 84 % quantile is
   ``1.5 sigma / sqrt(n_eff)``, 0.03 sigma at 2,500).  With 48 walkers the
   50 ``tau`` rule gave that; with 96 walkers 25 ``tau`` and the floor do.  Both
   stop on an estimate of ``tau`` that is low on short chains (the windowed
   estimator's bias: measured on SPARC galaxies against 80-``tau`` chains,
   0.75-0.8 of the true ``tau`` at 25 ``tau``, 0.9-0.95 at 50, 0.5 and 0.8 for
   a slow-mixing galaxy), so the *true* numbers of independent samples were
   compared (five SPARC galaxies, two seeds): the smallest rose from 1,900
   to 2,200 (NGC 3953, the slowest SPARC galaxy: 2,000 before, 2,200 now;
   UGC 7690 1,900 before, 2,600 now; the easy NGC 3198 4,200 before, 3,200
   now), in about half the CPU time (on all 175 SPARC galaxies: 20 % less, with
   a median of 4,300 independent samples against 3,200).
5. Burn-in ``2 max(tau)`` steps is dropped and the chain thinned by
   ``max(1, min(tau) / 2)``; at most ``max_samples`` samples are kept (evenly).

Randomness: the seed sequence of the galaxy is split into one stream for the
prior draws of the optimiser and one (MT19937) for emcee's random state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from rotcurve.errors import ConfigError, DataError
from rotcurve.inference.autocorr import integrated_time
from rotcurve.inference.optimize import find_map
from rotcurve.inference.posterior import Posterior
from rotcurve.inference.sampling import Method, Sampling

__all__ = ["MCMCSettings", "EmceeMethod", "MOVES", "MAX_SETTING"]

#: Move schedules by name: ``(move class name, weight)`` pairs.
MOVES: dict[str, tuple[tuple[str, float], ...]] = {
    "de": (("DEMove", 1.0),),
    "de+stretch": (("DEMove", 0.8), ("StretchMove", 0.2)),
    "stretch": (("StretchMove", 1.0),),
}


#: Upper limits of the integer settings (others: 10**8).  A step of 4,096 walkers
#: costs seconds per galaxy and 10 million steps hours; the chain (walkers x steps x
#: parameters) would exhaust memory long before a larger run ends.  ``rotcurve fit``'s
#: --walkers / --max-steps use the same numbers (tests/cli/test_limits.py checks).
MAX_SETTING: dict[str, int] = {"n_walkers": 4096, "max_steps": 10_000_000}


@dataclass(frozen=True)
class MCMCSettings:
    """Settings of the ``mcmc`` method.

    Attributes
    ----------
    n_walkers : int
        Walkers of the ensemble (>= 2 d; more cost little per step with the
        vectorised posterior and give more independent samples).
    moves : str
        Move schedule, a key of :data:`MOVES`.
    check_every : int
        Steps between convergence checks.
    tau_factor : float
        Converged when the chain is longer than ``tau_factor * tau``, ...
    tau_rtol : float
        ... ``tau`` changed by less than this fraction since the last check, ...
    min_n_eff : int
        ... and the chain holds at least this many independent samples
        (``n_walkers (n_steps - burn) / max tau``).
    min_steps : int
        Steps before the first convergence check can pass.
    max_steps : int
        Cap on the chain length; beyond it the galaxy is flagged not converged.
    ball : float
        Initial walker spread around the MAP, as a fraction of the posterior
        width estimated from the Hessian.
    max_samples : int
        Samples kept per galaxy (after burn-in and thinning).
    map_draws, map_starts : int
        Prior draws screened and optimiser runs for the MAP.
    """

    n_walkers: int = 96
    moves: Literal["de", "de+stretch", "stretch"] = "de"
    check_every: int = 50
    tau_factor: float = 25.0
    tau_rtol: float = 0.01
    min_n_eff: int = 3000
    min_steps: int = 200
    max_steps: int = 10000
    ball: float = 0.2
    max_samples: int = 4000
    map_draws: int = 256
    map_starts: int = 4

    def __post_init__(self) -> None:
        for name in ("n_walkers", "check_every", "min_steps", "max_steps", "max_samples", "map_draws", "map_starts",
                     "min_n_eff"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"mcmc.{name} must be a positive integer, got {value!r}")
            if value > MAX_SETTING.get(name, 10**8):
                raise ConfigError(f"mcmc.{name} must be at most {MAX_SETTING.get(name, 10**8)}, got {value}")
        for name in ("tau_factor", "tau_rtol", "ball"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigError(f"mcmc.{name} must be a positive number, got {value!r}")
        if self.moves not in MOVES:
            raise ConfigError(f"mcmc.moves {self.moves!r} is not one of {', '.join(MOVES)}")
        if self.max_steps < self.check_every:
            raise ConfigError(f"mcmc.max_steps ({self.max_steps}) must be >= check_every ({self.check_every})")


def _moves(name: str) -> list:
    import emcee

    return [(getattr(emcee.moves, cls)(), weight) for cls, weight in MOVES[name]]


def _hessian(post: Posterior, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Central-difference Hessian of ``ln p`` at ``x`` (d, d), all points in one call."""
    d = x.size
    pts = [x]
    pairs = [(i, j) for i in range(d) for j in range(i, d)]
    for i, j in pairs:
        for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
            p = x.copy()
            p[i] += si * h[i]
            p[j] += sj * h[j]
            pts.append(p)
    lp = post(np.array(pts))
    out = np.empty((d, d))
    for k, (i, j) in enumerate(pairs):
        a, b, c, e = lp[1 + 4 * k: 5 + 4 * k]
        out[i, j] = out[j, i] = (a - b - c + e) / (4.0 * h[i] * h[j])
    return out


def _start_scale(post: Posterior, centre: np.ndarray, box: np.ndarray, ball: float) -> np.ndarray:
    """Matrix ``L`` (d, d): walkers start at ``centre + L z``, ``z ~ N(0, 1)``."""
    tiny = np.diag(1e-4 * (box[:, 1] - box[:, 0]))
    with np.errstate(all="ignore"):
        hess = _hessian(post, centre, 1e-4 * (box[:, 1] - box[:, 0]))
        if not np.all(np.isfinite(hess)):
            return tiny
        try:
            chol = np.linalg.cholesky(np.linalg.inv(-hess))
        except np.linalg.LinAlgError:
            return tiny
    return ball * chol if np.all(np.isfinite(chol)) else tiny


def _ball(post: Posterior, centre: np.ndarray, n: int, chol: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``n`` points ``centre + chol z`` with positive density (shrinking the ball where needed)."""
    out = centre + rng.standard_normal((n, centre.size)) @ chol.T
    bad = ~np.isfinite(post(out))
    shrink = 1.0
    for _ in range(40):
        if not bad.any():
            return out
        shrink *= 0.5
        out[bad] = centre + shrink * (rng.standard_normal((int(bad.sum()), centre.size)) @ chol.T)
        bad[bad] = ~np.isfinite(post(out[bad]))
    out[bad] = centre  # emcee tolerates a few identical walkers; they separate at once
    return out


#: Checks come every ``_CHECK_TAU`` tau where that is shorter than ``check_every`` (at least ``_MIN_CHUNK`` steps).
_CHECK_TAU = 2.5
_MIN_CHUNK = 10


def _discard(n_steps: int, tau_max: float) -> int:
    """Burn-in steps dropped: ``2 max(tau)``, at most half the chain."""
    return min(int(2.0 * tau_max), n_steps // 2)


def _n_eff(n_walkers: int, n_steps: int, tau: np.ndarray) -> float:
    """Independent samples after the burn-in: ``n_walkers (n_steps - burn) / max tau``."""
    tau_max = float(np.max(tau))
    return n_walkers * (n_steps - _discard(n_steps, tau_max)) / tau_max


def _next_check(it: int, tau: np.ndarray, n_walkers: int, st: MCMCSettings) -> int:
    """Step of the next convergence check: the first multiple of ``check_every`` that could pass.

    At least one chunk after ``it``; where the current ``tau`` says the chain
    must be ``tau_factor tau`` long (or hold ``min_n_eff`` samples) and is
    not, the checks in between cannot pass (``tau`` estimates grow with the
    chain) and are skipped: they cost an FFT of the whole chain each.
    """
    chunk = st.check_every
    if not np.all(np.isfinite(tau)):
        return it + chunk
    tau_max = float(np.max(tau))
    chunk = int(min(chunk, max(_MIN_CHUNK, math.ceil(_CHECK_TAU * tau_max))))
    need = max(it + chunk, math.ceil(st.tau_factor * tau_max),
               math.ceil(st.min_n_eff * tau_max / n_walkers + 2.0 * tau_max), st.min_steps)
    return int(it + math.ceil((need - it) / chunk) * chunk)


class EmceeMethod(Method):
    """Affine-invariant ensemble MCMC (emcee) from the MAP, to an autocorrelation-time criterion."""

    name: ClassVar[str] = "mcmc"
    settings_class: ClassVar[type] = MCMCSettings

    def run(self, post: Posterior, seed: np.random.SeedSequence) -> Sampling:
        import emcee

        st: MCMCSettings = self.settings
        d = post.ndim
        w = max(st.n_walkers, 2 * d + 2)
        map_seq, ball_seq, emcee_seq = seed.spawn(3)
        mp = find_map(post, np.random.default_rng(map_seq), n_draws=st.map_draws, n_starts=st.map_starts)
        if not np.isfinite(mp.log_prob):
            raise DataError(
                f"galaxy {post.galaxy.name}: no prior draw has a finite posterior density; "
                "the prior excludes the data (check the prior's ranges)"
            )
        box = post.prior.box()
        p0 = _ball(post, mp.theta, w, _start_scale(post, mp.theta, box, st.ball), np.random.default_rng(ball_seq))
        sampler = emcee.EnsembleSampler(w, d, post, vectorize=True, moves=_moves(st.moves))
        sampler.random_state = np.random.RandomState(np.random.MT19937(emcee_seq)).get_state()
        state = p0
        prev: np.ndarray | None = None
        tau = np.full(d, np.nan)
        converged = False
        target = st.check_every
        while sampler.iteration < st.max_steps:
            n = min(target, st.max_steps) - sampler.iteration
            state = sampler.run_mcmc(state, n, progress=False, skip_initial_state_check=True)
            tau = integrated_time(sampler.get_chain())
            it = sampler.iteration
            if np.all(np.isfinite(tau)) and it >= st.min_steps:
                long_enough = bool(np.all(st.tau_factor * tau < it))
                stable = prev is not None and bool(np.all(np.abs(prev - tau) < st.tau_rtol * tau))
                if long_enough and stable and _n_eff(w, it, tau) >= st.min_n_eff:
                    converged = True
                    break
            prev = tau
            target = _next_check(it, tau, w, st)
        n_steps = sampler.iteration
        note = ""
        if not converged:
            if not np.all(np.isfinite(tau)):
                note = "the autocorrelation time could not be estimated (walkers stuck?)"
            else:
                note = (f"not converged after {n_steps} steps: the chain is {n_steps / np.max(tau):.0f} tau long "
                        f"(needs {st.tau_factor:g}), holds {_n_eff(w, n_steps, tau):.0f} independent samples "
                        f"(needs {st.min_n_eff}) or tau still changing by more than {100 * st.tau_rtol:g} %")
        tau_max = float(np.max(tau)) if np.all(np.isfinite(tau)) else float(n_steps) / 4.0
        tau_min = float(np.min(tau)) if np.all(np.isfinite(tau)) else 1.0
        discard = _discard(n_steps, tau_max)
        thin = max(1, int(0.5 * tau_min))
        theta = sampler.get_chain(discard=discard, thin=thin, flat=True)
        log_prob = sampler.get_log_prob(discard=discard, thin=thin, flat=True)
        if theta.shape[0] > st.max_samples:
            keep = np.linspace(0, theta.shape[0] - 1, st.max_samples).round().astype(np.int64)
            theta, log_prob = theta[keep], log_prob[keep]
        all_lp = sampler.get_log_prob()
        map_theta, map_lp = mp.theta, mp.log_prob
        best = np.unravel_index(int(np.argmax(all_lp)), all_lp.shape)
        if all_lp[best] > map_lp:
            map_theta, map_lp = sampler.get_chain()[best].copy(), float(all_lp[best])
        n_eff = _n_eff(w, n_steps, np.array([tau_max]))
        return Sampling(
            theta=np.ascontiguousarray(theta),
            log_prob=np.ascontiguousarray(log_prob),
            map_theta=np.asarray(map_theta, dtype=np.float64),
            map_log_prob=float(map_lp),
            converged=converged,
            tau=np.asarray(tau, dtype=np.float64),
            acceptance=float(np.mean(sampler.acceptance_fraction)),
            n_steps=int(n_steps),
            n_walkers=int(w),
            n_eff=float(n_eff),
            note=note,
        )

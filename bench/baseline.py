"""The reference tutorial's rotation-curve simulator, re-implemented faithfully.

This is the ``curveMod`` class of the tutorial this project starts from
(L. Posti, "Variational Autoencoder: learning an underlying distribution and
generating new data", 2022): a Python loop over curves, one list-comprehension
item per curve, each evaluating unscaled ``scipy.special.i0, k0, i1, k1`` on
the radii, and ``nan_to_num`` over the disc velocity.  It is kept here as the
speed and accuracy baseline for the benchmarks; it is not part of the package.

Two deliberate changes so that its outputs are comparable with rotcurve's:
the constants are rotcurve's (:data:`rotcurve.units.G` instead of the
tutorial's ``4.301e-6`` / ``4.301e-9``; H0 = 70 km/s/Mpc and Delta = 200 as
in the tutorial), and the list of per-curve arrays is stacked into
``(N, n_r)`` arrays at the end (which the tutorial's users did too).  The
per-curve loop structure, the formulas and the unscaled Bessel products are
unchanged.
"""

from __future__ import annotations

import numpy as np
from scipy.special import i0, i1, k0, k1

from rotcurve.units import DELTA_DEFAULT, G, H0_DEFAULT

__all__ = ["CurveMod", "baseline_curves"]

_G_MPC = G * 1e-3  # G in Mpc (km/s)^2 / Msun, as the tutorial's 4.301e-9


class CurveMod:
    """The tutorial's ``curveMod``: per-curve disc + NFW rotation curves.

    Parameters
    ----------
    Md, Rd, Mh, cc : float or sequence of float
        Disc mass [Msun], disc scale length [kpc], halo mass [Msun],
        concentration; sequences of equal length give one curve each.
    rad : numpy.ndarray, shape (n_r,)
        Radii in kpc.
    """

    def __init__(self, Md, Rd, Mh, cc, rad=np.logspace(-1, np.log10(50), 50)):  # noqa: B008
        self.G, self.H, self.Dc = _G_MPC, H0_DEFAULT, DELTA_DEFAULT  # physical constants
        self.Md, self.Rd = Md, Rd
        self.Mh, self.cc = Mh, cc
        self.rad = rad
        if hasattr(self.Md, "__len__"):
            self.vdisc = [self._vdisc(self.rad, self.Md[i], self.Rd[i]) for i in range(len(self.Md))]
            self.vdm = [self._vhalo(self.rad, self.Mh[i], self.cc[i]) for i in range(len(self.Md))]
            self.vc = [np.sqrt(self.vdisc[i] ** 2 + self.vdm[i] ** 2) for i in range(len(self.Md))]
        else:
            self.vdisc = self._vdisc(self.rad, self.Md, self.Rd)
            self.vdm = self._vhalo(self.rad, self.Mh, self.cc)
            self.vc = np.sqrt(self.vdisc**2 + self.vdm**2)

    def _fc(self, x):
        return np.log(1 + x) - x / (1 + x)

    def _Vvir(self, Mh):
        return np.sqrt((self.Dc * (self.H) ** 2 / 2) ** (1.0 / 3.0) * (self.G * Mh) ** (2.0 / 3.0))

    def _Rvir(self, Mh):
        return 1e3 * (Mh / (0.5 * self.Dc * self.H**2 / self.G)) ** (1.0 / 3.0)

    def _vhalo(self, R, Mh, cc):
        # circular velocity of the halo component (NFW model)
        rv = self._Rvir(Mh)
        return np.sqrt(self._Vvir(Mh) ** 2 * rv / R * self._fc(cc * R / rv) / self._fc(cc))

    def _vdisc(self, R, Md, Rd):
        # circular velocity of the disc component (exponential disc)
        y = R / 2.0 / Rd
        with np.errstate(all="ignore"):  # the tutorial let inf*0 -> nan through to nan_to_num
            return np.nan_to_num(np.sqrt(2 * G * Md / Rd * y**2 * (i0(y) * k0(y) - i1(y) * k1(y))))


def baseline_curves(Md, Rd, Mh, c, radii) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rotation curves by the tutorial's per-curve loop.

    Parameters
    ----------
    Md, Rd, Mh, c : array_like, shape (N,)
        Disc mass [Msun], disc scale length [kpc], halo mass [Msun],
        concentration.
    radii : array_like, shape (n_r,)
        Radii in kpc (> 0; the tutorial divides by R).

    Returns
    -------
    v_circ, v_disc, v_halo : numpy.ndarray, each shape (N, n_r), float64
        Circular velocities in km/s.
    """
    cm = CurveMod(
        np.asarray(Md, dtype=np.float64),
        np.asarray(Rd, dtype=np.float64),
        np.asarray(Mh, dtype=np.float64),
        np.asarray(c, dtype=np.float64),
        rad=np.asarray(radii, dtype=np.float64),
    )
    return np.array(cm.vc), np.array(cm.vdisc), np.array(cm.vdm)

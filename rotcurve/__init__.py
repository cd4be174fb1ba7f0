"""rotcurve: surrogate modelling of galaxy rotation curves.

Physics (:mod:`rotcurve.physics`), the batch generator
(:mod:`rotcurve.generator`), the file format (:mod:`rotcurve.io`) need only
numpy, scipy and h5py; the surrogate models need torch.
"""

from rotcurve._version import __version__
from rotcurve.errors import RotcurveError

__all__ = ["__version__", "RotcurveError"]

"""The shared contract of every data kind in DATA_KINDS (curves, MNIST)."""

from __future__ import annotations

import numpy as np
import pytest

from rotcurve.datasets.kinds import DATA_KINDS, DataKind, kind_for_spec, kind_named
from rotcurve.errors import ConfigError, DataError


def _curves(n=6):
    from rotcurve.datasets.normaliser import CurveNormaliser

    radii = np.geomspace(0.5, 30.0, 8)
    rng = np.random.default_rng(0)
    v = 50.0 + 150.0 * rng.random((n, 1)) * np.sqrt(radii / (radii + 2.0))[None, :]
    return v, CurveNormaliser.fit(v, radii), (8,)


def _images(n=6):
    from rotcurve.datasets.normaliser import IdentityNormaliser

    x = np.random.default_rng(0).random((n, 28, 28)).astype(np.float32)
    return x, IdentityNormaliser(784), (28, 28)


#: Per kind: a spec of it, and small synthetic data in physical units with its normaliser.
EXAMPLES = {
    "curves": ("curves.h5", _curves),
    "mnist": ("mnist:data/mnist", _images),
}


def test_every_kind_has_an_example_and_a_training_loader():
    from rotcurve.datasets.loading import _LOADERS

    assert set(EXAMPLES) == set(DATA_KINDS) == set(_LOADERS)


@pytest.fixture(params=sorted(DATA_KINDS))
def kind(request):
    return kind_named(request.param)


def test_registry_lookup(kind):
    assert isinstance(kind, DataKind) and type(kind) is DATA_KINDS[kind.name]
    assert kind_named(kind.name) == kind
    assert kind.noun and kind.held and kind.trained_on and kind.spec_hint and kind.file_format and kind.noun_in_units


def test_spec_matching(kind):
    spec, _ = EXAMPLES[kind.name]
    assert kind.matches(spec) and kind_for_spec(spec) == kind
    others = [k for k in EXAMPLES if k != kind.name]
    for other in others:
        assert not kind.matches(EXAMPLES[other][0])
    # the saved form is absolute and names the same kind
    saved = kind.normalise_spec(spec)
    assert kind_for_spec(saved) == kind and saved.endswith(spec.split(":")[-1])
    assert kind.check_spec(spec) == spec


def test_data_of_another_kind_is_refused_in_one_line(kind):
    for name, (spec, _) in EXAMPLES.items():
        if name == kind.name:
            continue
        with pytest.raises(DataError) as err:
            kind.check_spec(spec)
        msg = str(err.value)
        assert "\n" not in msg and f"trained on {kind.trained_on}" in msg and kind.spec_hint in msg


def test_to_physical_round_trips_model_input(kind):
    _, make = EXAMPLES[kind.name]
    data, normaliser, shape = make()
    dim = normaliser.input_dim
    x = kind.model_input(data, normaliser=normaliser, input_dim=dim)
    assert x.dtype == np.float32 and x.shape == (len(data), dim)
    back = kind.to_physical(x, normaliser=normaliser, shape=shape)
    assert back.shape == data.shape
    np.testing.assert_allclose(back, data, rtol=1e-5, atol=1e-6)
    # empty input stays empty
    assert kind.to_physical(x[:0], normaliser=normaliser).shape[0] == 0


def test_unusable_output_is_one_line(kind):
    _, make = EXAMPLES[kind.name]
    data, normaliser, _ = make()
    x = kind.model_input(data, normaliser=normaliser, input_dim=normaliser.input_dim)
    x[1, 0] = np.nan
    with pytest.raises(DataError) as err:
        kind.to_physical(x, normaliser=normaliser, what="sampled")
    assert str(err.value).startswith(f"1 of {len(x)} sampled ") and "\n" not in str(err.value)


def test_wrong_shapes_are_refused_in_one_line(kind):
    _, make = EXAMPLES[kind.name]
    data, normaliser, _ = make()
    with pytest.raises(DataError) as err:
        kind.model_input(np.ones((2, 3)), normaliser=normaliser, input_dim=normaliser.input_dim)
    assert "do not fit the model" in str(err.value) and "\n" not in str(err.value)


def test_extra_metrics_accumulate(kind):
    _, make = EXAMPLES[kind.name]
    data, _, _ = make()
    metrics = kind.extra_metrics()
    if metrics is None:
        return
    flat = data.reshape(len(data), -1)
    metrics.update(flat, flat * 1.01)
    result = metrics.result()
    assert all(np.isfinite(v) for v in result.values())


@pytest.mark.parametrize("bad", ["", None, 3, b"x.h5"])
def test_unknown_specs_are_one_line_errors(bad):
    with pytest.raises(ConfigError) as err:
        kind_for_spec(bad)
    assert "\n" not in str(err.value)


def test_unknown_kind_name_is_a_one_line_error():
    with pytest.raises(ConfigError, match="unknown kind of data 'spectra'; known: curves, mnist"):
        kind_named("spectra")


def test_a_spec_that_names_no_data_is_a_one_line_error():
    for spec in ("mnist:", "mnist"):
        kind = kind_for_spec(spec)
        with pytest.raises(ConfigError, match="mnist:DIR") as err:
            kind.source(spec)
        assert "\n" not in str(err.value)

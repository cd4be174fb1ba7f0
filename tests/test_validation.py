"""rotcurve.validation: the shared argument checks and their one wording each."""

from __future__ import annotations

import numpy as np
import pytest

from rotcurve.errors import ConfigError
from rotcurve.validation import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_seed,
    first_line,
    is_int,
    is_number,
)


def test_predicates_refuse_booleans():
    assert is_int(3) and is_int(np.int64(3)) and not is_int(np.int64(3), numpy=False)
    assert not is_int(True) and not is_int(np.bool_(True)) and not is_int(3.0)
    assert is_number(2.5) and is_number(np.float32(1)) and not is_number(np.float32(1), numpy=False)
    assert not is_number(False) and not is_number("1") and not is_number(1j)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: check_int("epochs", 0), "epochs must be an integer >= 1, got 0"),
        (lambda: check_int("epochs", True), "epochs must be an integer >= 1, got True"),
        (lambda: check_int("n", np.int64(-2), minimum=0), "n must be an integer >= 0, got -2"),
        (lambda: check_int("n", 2.0), "n must be an integer >= 1, got 2.0"),
        (lambda: check_int("n", np.int64(2), numpy=False), f"n must be an integer >= 1, got {np.int64(2)!r}"),
        (lambda: check_int("k", 11, maximum=10), "k must be an integer <= 10, got 11"),
        (lambda: check_float("lr", 0.0, minimum=0.0, strict=True), "lr must be > 0, got 0.0"),
        (lambda: check_float("warmup", 1.0, minimum=0.0, maximum=0.99), "warmup must be >= 0 and <= 0.99, got 1.0"),
        (lambda: check_float("lr", float("nan")), "lr must be a finite number, got nan"),
        (lambda: check_seed(-1), "seed must be a non-negative integer, got -1"),
        (lambda: check_choice("activation", "tanh", ("silu", "relu")),
         "unknown activation 'tanh'; choose one of: silu, relu"),
        (lambda: check_bool("components", 1), "components must be True or False, got 1"),
    ],
)
def test_messages(call, message):
    with pytest.raises(ConfigError) as exc:
        call()
    assert str(exc.value) == message


def test_values_come_back_plain():
    assert type(check_int("n", np.int64(4))) is int and check_seed(np.uint8(3)) == 3
    assert check_float("x", 2) == 2.0 and check_choice("k", "a", {"a": 1}) == "a"
    assert check_bool("b", np.bool_(False)) is False
    assert first_line(OSError("first\nsecond")) == "first" and first_line(KeyError()) == "KeyError"

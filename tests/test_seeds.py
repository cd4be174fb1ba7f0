"""rotcurve.seeds gives the numbers the old derivations gave (files and checkpoints stay bit-identical)."""

from __future__ import annotations

import numpy as np
import pytest

from rotcurve import seeds
from rotcurve.errors import ConfigError

SEEDS = [0, 1, 7, 2**32 + 5, 2**62 + 11]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_derivations_are_the_formulas_they_replace(seed):
    ss = np.random.SeedSequence
    # training.loop.stream_seed before issue 8
    for key in [(1,), (2, 5), (3, 0)]:
        old = int(ss(int(seed), spawn_key=(0x7EA1, *key)).generate_state(1, np.uint64)[0])
        assert seeds.stream_seed(seed, *key) == old
    # datasets.streaming.epoch_seed
    for epoch in (0, 3, 1000):
        state = ss(int(seed), spawn_key=(0xBA7C, epoch)).generate_state(2, np.uint32)
        assert seeds.epoch_seed(seed, epoch) == int(state[0]) << 31 ^ int(state[1])
    # run.checks.torch_seed, reports.config.stream_seed, run.aggregates' GMM seed
    assert seeds.seed64(seed, 0x5C0E) == int(ss(seed, spawn_key=(0x5C0E,)).generate_state(1, np.uint64)[0])
    assert seeds.seed31(seed, 4) == int(ss(seed, spawn_key=(4,)).generate_state(1)[0] >> 1)
    assert seeds.seed31(seed, 0xA667, 1) == int(ss(seed, spawn_key=(0xA667, 1)).generate_state(1)[0] >> 1)
    # generator._shard.shard_rng, run sample/posterior streams, the aggregate samplers' int seeds
    for key in [(), (0,), (9,), (0x5A3B,)]:
        a = seeds.stream_rng(seed, *key).integers(0, 2**63, 4)
        b = np.random.default_rng(ss(int(seed), spawn_key=key)).integers(0, 2**63, 4)
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(seeds.as_rng(seed).random(3), np.random.default_rng(ss(seed)).random(3))


def test_the_users_keep_the_numbers():
    from rotcurve.datasets.streaming import epoch_seed
    from rotcurve.generator._shard import shard_rng
    from rotcurve.reports.config import stream_seed as report_seed
    from rotcurve.run.checks import torch_seed
    from rotcurve.training import stream_seed

    assert stream_seed(3, 1) == seeds.seed64(3, seeds.TRAIN_STREAM, 1)
    assert epoch_seed(3, 2) == seeds.seed63(3, seeds.BATCH_STREAM, 2)
    assert report_seed(3, "c2st") == seeds.seed31(3, 5)
    assert torch_seed(3, 0x9057) == seeds.seed64(3, 0x9057)
    np.testing.assert_array_equal(shard_rng(3, 2).random(2), seeds.stream_rng(3, 2).random(2))


def test_as_rng_passes_generators_and_sequences_and_refuses_bad_seeds():
    g = np.random.default_rng(1)
    assert seeds.as_rng(g) is g
    np.testing.assert_array_equal(seeds.as_rng(np.random.SeedSequence(4)).random(2),
                                  np.random.default_rng(np.random.SeedSequence(4)).random(2))
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ConfigError, match="^seed must be a non-negative integer, got "):
            seeds.as_rng(bad)

"""Learning-rate schedules against their closed forms; optimiser registry."""

from __future__ import annotations

import math

import pytest
import torch

from rotcurve.training.config import TrainConfig
from rotcurve.training.optim import OPTIMIZERS, SCHEDULES, build_optimizer, build_schedule


def test_cosine_warms_up_linearly_then_follows_the_cosine():
    cfg = TrainConfig(lr=1e-2, schedule="cosine", warmup=0.1, min_lr_ratio=0.05)
    s = build_schedule(cfg, 1000)
    assert s.warmup_steps == 100
    for step in (0, 49, 99):
        assert s.lr_at(step) == pytest.approx(1e-2 * (step + 1) / 100, rel=1e-12)
    # after warm-up: lr * (m + (1 - m) * (1 + cos(pi t)) / 2), t = (step - 100) / 899
    for step in (100, 300, 550, 999):
        t = (step - 100) / 899
        expect = 1e-2 * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))
        assert s.lr_at(step) == pytest.approx(expect, rel=1e-12)
    assert s.lr_at(100) == pytest.approx(1e-2)
    assert s.lr_at(999) == pytest.approx(1e-2 * 0.05)


def test_cosine_without_warmup_starts_at_the_peak():
    s = build_schedule(TrainConfig(lr=2e-3, warmup=0.0, min_lr_ratio=0.0), 11)
    assert s.lr_at(0) == pytest.approx(2e-3)
    assert s.lr_at(5) == pytest.approx(1e-3)  # half way: cos(pi/2) = 0
    assert s.lr_at(10) == pytest.approx(0.0, abs=1e-15)


def test_plateau_drops_after_patience_and_keeps_state():
    cfg = TrainConfig(lr=1.0, schedule="plateau", plateau_factor=0.5, plateau_patience=2, min_delta=0.1)
    s = build_schedule(cfg, 100)
    for loss in (10.0, 9.0, 8.95, 8.95):  # two evaluations without an improvement > 0.1
        s.after_eval(loss)
    assert s.lr_at(0) == 1.0
    s.after_eval(8.99)  # the third: drop
    assert s.lr_at(0) == 0.5
    t = build_schedule(cfg, 100)
    t.load_state_dict(s.state_dict())
    assert t.lr_at(7) == 0.5 and t.state_dict() == s.state_dict()


def test_constant_schedule():
    s = build_schedule(TrainConfig(lr=3e-4, schedule="none"), 10)
    assert {s.lr_at(i) for i in range(10)} == {3e-4}


def test_registries_build_the_named_optimiser():
    p = [torch.nn.Parameter(torch.zeros(3))]
    assert set(OPTIMIZERS) == {"adam", "adamw"} and set(SCHEDULES) == {"cosine", "plateau", "none"}
    adam = build_optimizer(p, TrainConfig(optimizer="adam", weight_decay=0.1), torch.device("cpu"))
    adamw = build_optimizer(p, TrainConfig(optimizer="adamw", weight_decay=0.1), torch.device("cpu"))
    assert type(adam) is torch.optim.Adam and type(adamw) is torch.optim.AdamW
    assert adam.param_groups[0]["weight_decay"] == 0.1


def test_adamw_decay_is_decoupled():
    # one step on a zero gradient: AdamW shrinks w by lr * wd; Adam's L2 term enters the moments
    w = torch.nn.Parameter(torch.ones(1))
    opt = build_optimizer([w], TrainConfig(optimizer="adamw", lr=0.1, weight_decay=0.5), torch.device("cpu"))
    w.grad = torch.zeros(1)
    opt.step()
    assert w.item() == pytest.approx(1.0 - 0.1 * 0.5)

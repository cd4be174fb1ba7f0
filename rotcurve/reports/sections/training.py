"""The training section of every report: epochs, best epoch and loss, time (from ``metrics.jsonl``), loss curves."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from rotcurve.reports.builder import Builder
from rotcurve.reports.figures import training_history_figure
from rotcurve.reports.html import definition_list, section

__all__ = ["training_section", "training_records", "training_summary"]


def training_records(run: Any) -> list[dict[str, Any]]:
    """The epoch records of the run's ``metrics.jsonl`` (up to the first unreadable line)."""
    path = run.path / "metrics.jsonl"
    records = []
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                break
            if isinstance(rec, dict) and "epoch" in rec:
                records.append(rec)
    return records


def training_summary(records: list[dict[str, Any]], run: Any) -> dict[str, Any]:
    """``metrics.json`` ``training``: epochs, checkpoint, best epoch and validation loss, final losses, time."""
    summary: dict[str, Any] = {"epochs": len(records), "checkpoint": run.checkpoint.name, "checkpoint_epoch": run.epoch}
    if not records:
        return summary
    val = [r.get("val_loss") for r in records]
    finite = [(v, r) for v, r in zip(val, records) if isinstance(v, (int, float)) and math.isfinite(v)]
    if finite:
        best_val, best = min(finite, key=lambda t: t[0])
        summary.update(best_epoch=int(best["epoch"]), best_val_loss=float(best_val))
    last = records[-1]
    for key in ("train_loss", "train_recon", "train_kl", "val_loss", "val_recon", "val_kl"):
        if key in last:
            summary[f"final_{key}"] = last[key]
    seconds = [r.get("seconds") for r in records if isinstance(r.get("seconds"), (int, float))]
    if seconds:
        summary["total_seconds"] = float(sum(seconds))
    rates = [r.get("samples_per_s") for r in records if isinstance(r.get("samples_per_s"), (int, float))]
    if rates:
        summary["median_samples_per_s"] = float(np.median(rates))
    return summary


def training_section(b: Builder, run: Any, metrics: dict[str, Any]) -> None:
    """One step: ``metrics["training"]`` and the "Training" section."""
    with b.step("training summary"):
        records = training_records(run)
        summary = training_summary(records, run)
        metrics["training"] = summary
        parts = [definition_list([(k.replace("_", " "), v if not isinstance(v, float) else f"{v:.6g}")
                                  for k, v in summary.items()])]
        if records:
            parts.append(b.figure("training_history", training_history_figure(records),
                                  "Training and validation loss (negative ELBO, nats per example) per epoch."))
        else:
            parts.append(b.note(f"{run.path / 'metrics.jsonl'} is missing or empty: no training history to show."))
        b.body.append(section("Training", parts, anchor="training"))

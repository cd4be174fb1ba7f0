"""The two sections at the top of every report: "Run and data" and the "Summary" of the headline numbers."""

from __future__ import annotations

from typing import Any

from rotcurve.reports.analysis_set import AnalysisSet
from rotcurve.reports.builder import target_cell
from rotcurve.reports.config import TARGETS, ReportConfig
from rotcurve.reports.html import definition_list, section, table

__all__ = ["overview_section", "summary_section", "describe_data"]


def summary_section(run: Any, metrics: dict[str, Any]) -> str:
    """Reconstruction error, ELBO, R^2 and the sampling results against :data:`TARGETS`."""
    rows: list[list[Any]] = []
    rec = metrics.get("score", {})
    if "median_frac_error" in rec:
        rows.append(["median reconstruction error |v̂/v − 1|", rec["median_frac_error"]])
        rows.append(["RMS reconstruction error [km/s]", rec["rms_kms"]])
    if "neg_elbo" in rec:
        rows.append(["negative ELBO [nats / example]", rec["neg_elbo"]])
    r2 = (metrics.get("latents") or {}).get("r2")
    if r2:
        for p, t in TARGETS["r2_nonlinear"].items():
            rows.append([f"R² of log10 {p} from the latents (non-linear)", target_cell(r2[p]["nonlinear"], t)])
    samples = metrics.get("samples") or {}
    for source in ("aggregate", "prior"):
        entry = samples.get(source)
        if not isinstance(entry, dict) or "validity" not in entry:
            continue
        label = "prior N(0, I) (diagnostic)" if source == "prior" else f"aggregate ({entry['kind']}; the default)"
        rows.append([f"{label}: valid within 2 %",
                     target_cell(entry["validity"]["fraction_within"][repr(0.02)], TARGETS["validity_within_2pct"])])
        rows.append([f"{label}: C2ST AUC", target_cell(entry["c2st"]["auc"], TARGETS["c2st_auc_max"], below=True)])
    return section("Summary", [table(["quantity", "value"], rows)], anchor="summary")


def describe_data(info: dict[str, Any]) -> str:
    """One line on the analysed examples (:attr:`AnalysisSet.info`)."""
    where = f"the run's test split of {info['n_candidates']}" if info["same_as_training"] else "all rows"
    sub = ", a seeded random subsample" if info["n_analysed"] < info["n_candidates"] else ""
    return f"{info['data']} ({info['n_available']} examples): {info['n_analysed']} analysed ({where}{sub})"


def overview_section(run: Any, aset: AnalysisSet, cfg: ReportConfig, metrics: dict[str, Any]) -> str:
    """Run, checkpoint, model, training data, analysed data, seed and versions."""
    mc = run.model_config
    items = [
        ("run", str(run.path.resolve())),
        ("checkpoint", f"{run.checkpoint.name} (epoch {run.epoch})"),
        ("model", f"{mc.model}, latent dimension {mc.latent_dim}, posterior {mc.posterior}"),
        ("trained on", f"{run.data.get('spec')} ({run.data.get('n')} examples, split "
                       f"{run.data.get('fractions')}, seed {run.data.get('seed')})"),
        ("analysed data", describe_data(aset.info)),
        ("seed", cfg.seed),
        ("generated per source", cfg.n_samples),
        ("versions", ", ".join(f"{k} {v}" for k, v in metrics["versions"].items())),
    ]
    return section("Run and data", [definition_list(items)], anchor="overview")

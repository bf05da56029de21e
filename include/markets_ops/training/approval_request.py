"""What an approver reads in the Airflow UI before promoting a model: the candidate and the champion
side by side on the same evaluation window, the gate's checks and thresholds, links to MLflow.

Pure functions of the gate task's result (promotion.run_gate with ``pending_approval``), rendered
as Markdown by the HITL form (the operator's ``subject`` and ``body``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from include.markets_ops.training import promotion

# (metric key, label, format, which way is better); the evaluate job's metrics.quality() keys.
METRIC_ROWS = (
    ("roc_auc", "ROC AUC", "{:.4f}", "higher"),
    ("pr_auc", "PR AUC", "{:.4f}", "higher"),
    ("brier", "Brier score", "{:.4f}", "lower"),
    ("calibration_error", "Calibration error", "{:.4f}", "lower"),
    ("precision_at_top_k", "Precision in the top k", "{:.3f}", "higher"),
    ("recall_at_top_k", "Recall in the top k", "{:.3f}", "higher"),
)
THRESHOLD_LABELS = {
    "min_roc_auc": "minimum ROC AUC",
    "max_auc_regression": "largest ROC AUC drop against the champion",
    "max_calibration_error": "maximum calibration error",
    "min_positives": "minimum failed trades in the window",
    "shadow_min_days": "minimum business days in shadow with realised fails",
    "shadow_min_fails": "minimum realised failed trades in shadow",
    "shadow_max_auc_gap": "largest shadow ROC AUC gap below the champion",
}
# The shadow record's metric pairs (ml.shadow_comparisons: champion_<key>, challenger_<key>).
SHADOW_METRICS = (
    ("roc_auc", "ROC AUC"),
    ("pr_auc", "PR AUC"),
    ("brier", "Brier"),
    ("calibration_error", "Calibration error"),
)
UNDEFINED = "–"  # a metric the day's realised trades cannot define (e.g. no fails: no ROC AUC)

VersionUrl = Callable[[str], str]  # version -> its MLflow page


def subject(gated: Mapping[str, Any]) -> str:
    champion = gated.get("champion_before")
    against = f"replace version {champion} as champion" if champion else "become the first champion"
    return f"Promote {gated['model_name']} version {gated['candidate_version']}? It would {against}."


def body(gated: Mapping[str, Any], version_url: VersionUrl) -> str:
    """The request's Markdown: metrics side by side, the gate's checks, the window, links."""
    return "\n\n".join(
        [
            _versions(gated, version_url),
            _metrics_table(gated),
            *_shadow_record(gated),
            _checks(gated),
            "**Approve** moves the `champion` alias to the candidate (the current champion keeps "
            "`previous_champion`, for a rollback). **Reject**, or no answer before the request times "
            "out, leaves the champion as it is. Your name, the time and your comment are recorded in "
            "`ml.model_promotions`, on the version's MLflow tags and in the `mlops.model-events` "
            "message. The person who triggered this run cannot approve it (four eyes).",
        ]
    )


def _versions(gated: Mapping[str, Any], version_url: VersionUrl) -> str:
    candidate, champion = gated["candidate_version"], gated.get("champion_before")
    window = gated.get("evaluation_window") or {}
    lines = [f"- Candidate: [version {candidate}]({version_url(candidate)})"]
    lines.append(
        f"- Champion: [version {champion}]({version_url(champion)})" if champion else "- Champion: none yet"
    )
    if window:
        lines.append(
            f"- Evaluated on trades from {window.get('start')} to {window.get('end')} (outcomes known by "
            f"{window.get('labels_known_by')}), trades the candidate never saw in training"
        )
    lines.append(f"- Run `{gated['dag_run_id']}`, triggered by {gated['triggered_by']}")
    return "\n".join(lines)


def _metrics_table(gated: Mapping[str, Any]) -> str:
    candidate = gated.get("challenger_metrics") or {}
    champion = gated.get("champion_metrics") or {}
    rows = ["| Metric | Candidate | Champion | Better |", "|---|---:|---:|---|"]
    for key, label, fmt, better in METRIC_ROWS:
        if key not in candidate:
            continue
        theirs = fmt.format(champion[key]) if key in champion else "n/a"
        rows.append(f"| {label} | {fmt.format(candidate[key])} | {theirs} | {better} |")
    if "rows" in candidate:
        rows.append(f"| Trades in the window | {int(candidate['rows']):,} | same trades | |")
    return "\n".join(rows)


def _shadow_record(gated: Mapping[str, Any]) -> list[str]:
    """The challenger's nights in shadow beside the champion, oldest first. Nothing when the check
    did not apply (no champion yet, or the check is off): there is no record to show."""
    days = gated.get("shadow")
    if days is None:
        return []
    if not days:
        return [
            f"**Shadow record**: No shadow record yet beside this champion (version "
            f"{gated.get('champion_before')}): no business date has both models' scores and known outcomes."
        ]
    return [_shadow_summary(days, gated.get("thresholds") or {}), _shadow_table(days)]


def _shadow_table(days: list[dict[str, Any]]) -> str:
    pairs = " | ".join(f"{label} champion / challenger" for _, label in SHADOW_METRICS)
    rows = [f"| Business date | Realised trades | Fails | {pairs} |", "|---|---:|---:|" + "---:|" * 4]
    for day in reversed(days):  # the gate's record is latest first; a table reads oldest first
        metrics = " | ".join(
            f"{_metric(day[f'champion_{key}'])} / {_metric(day[f'challenger_{key}'])}"
            for key, _ in SHADOW_METRICS
        )
        rows.append(f"| {day['business_date']} | {day['realised_trades']:,} | {day['fails']:,} | {metrics} |")
    return "\n".join(rows)


def _shadow_summary(days: list[dict[str, Any]], thresholds: Mapping[str, Any]) -> str:
    record = promotion.shadow_summary(days)  # the days and the weighting the gate judges
    line = (
        f"**Shadow record**: {record.days} business days with realised fails, {record.fails:,} fails in all"
    )
    if record.champion_roc_auc is not None and record.challenger_roc_auc is not None:
        line += (
            "; over those days, ROC AUC weighted by realised trades: "
            f"champion {record.champion_roc_auc:.4f}, challenger {record.challenger_roc_auc:.4f}"
        )
    if "shadow_min_days" in thresholds:
        line += (
            f" (the gate asks for at least {thresholds['shadow_min_days']} days and "
            f"{thresholds.get('shadow_min_fails')} fails, and the challenger at most "
            f"{thresholds.get('shadow_max_auc_gap')} below the champion)"
        )
    return line + "."


def _metric(value: float | None) -> str:
    return UNDEFINED if value is None else f"{value:.4f}"


def _checks(gated: Mapping[str, Any]) -> str:
    thresholds = gated.get("thresholds") or {}
    limits = ", ".join(f"{THRESHOLD_LABELS.get(k, k)} {v}" for k, v in thresholds.items())
    reasons = "\n".join(f"- {reason}" for reason in gated.get("reasons") or [])
    return f"**The gate's checks** ({limits}):\n\n{reasons}"


def rollback_subject(planned: Mapping[str, Any]) -> str:
    return (
        f"Roll back {planned['model_name']}? The champion would go from version {planned['champion']} "
        f"back to version {planned['restore']}."
    )


def rollback_body(planned: Mapping[str, Any], version_url: VersionUrl) -> str:
    champion, restore = planned["champion"], planned["restore"]
    return "\n\n".join(
        [
            f"- Champion now: [version {champion}]({version_url(champion)})\n"
            f"- Would be restored: [version {restore}]({version_url(restore)}) (the previous champion)\n"
            f"- Asked by {planned['triggered_by']} in run `{planned['dag_run_id']}`",
            "**Approve** points `champion` back at the previous version at once (tonight's scoring uses "
            "it); the demoted version is tagged `rolled_back`. **Reject**, or no answer before the "
            "request times out, changes nothing. The person who asked cannot approve (four eyes); "
            "in an emergency, trigger the rollback with `emergency_rollback_reason` instead.",
        ]
    )

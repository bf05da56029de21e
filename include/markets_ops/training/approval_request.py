"""What an approver reads in the Airflow UI before promoting a model: the candidate and the champion
side by side on the same evaluation window, the gate's checks and thresholds, links to MLflow.

Pure functions of the gate task's result (promotion.run_gate with ``pending_approval``), rendered
as Markdown by the HITL form (the operator's ``subject`` and ``body``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

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
}

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

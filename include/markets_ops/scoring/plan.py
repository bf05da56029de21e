"""A scoring run's plan: the business date, the model version pinned for every shard (resolved
once, so a promotion during the run cannot mix versions), the shard count and the thresholds;
each shard's job arguments (``ScoringPlan``). The names of the shards' tables and objects are
the job contract's (settlement_model.contract, docs/pod-contract.md), declared once for both sides.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from settlement_model import contract

HIGH_THRESHOLD_VARIABLE = "settlement_risk_high_threshold"
MEDIUM_THRESHOLD_VARIABLE = "settlement_risk_medium_threshold"
SHARDS_VARIABLE = "settlement_risk_scoring_shards"


@dataclass(frozen=True)
class ScoringPlan:
    business_date: dt.date
    model_name: str
    model_version: str
    shard_count: int
    high_risk_threshold: float
    medium_risk_threshold: float
    scoring_run_id: str
    dry_run: bool = False
    # The folder the shards' parts go to, scores/business_date=D/run=<attempt>/: unique per plan
    # (``new_attempt``), so no shard writes over the parts the date's manifest lists until the
    # swap is done and a new manifest replaces it. By default the run id's (tests, benchmarks).
    attempt: str = ""
    # The challenger, scored beside the champion into ml.shadow_scores (None: no challenger, or
    # a dry run).
    shadow_version: str | None = None

    def __post_init__(self) -> None:
        attempt = self.attempt or contract.scoring_attempt(self.scoring_run_id)
        object.__setattr__(self, "attempt", contract.check_attempt(attempt))
        if not 1 <= self.shard_count <= 64:
            raise ValueError(f"shard count must be between 1 and 64, got {self.shard_count}")
        if self.shadow_version is not None and self.dry_run:
            raise ValueError("a dry run scores no shadow")
        if self.shadow_version == self.model_version:
            raise ValueError(f"version {self.model_version} cannot shadow itself")
        if not 0 <= self.medium_risk_threshold <= self.high_risk_threshold <= 1:
            raise ValueError(
                f"need 0 <= {MEDIUM_THRESHOLD_VARIABLE} <= {HIGH_THRESHOLD_VARIABLE} <= 1, got "
                f"{self.medium_risk_threshold} and {self.high_risk_threshold}"
            )

    def shard_arguments(self) -> list[list[str]]:
        """The ``score`` job's arguments for each shard (one mapped task instance each)."""
        common = [
            "--business-date", self.business_date.isoformat(),
            "--shard-count", str(self.shard_count),
            "--model-version", self.model_version,
            "--run-id", self.scoring_run_id,
            "--attempt", self.attempt,
            "--high-risk-threshold", repr(self.high_risk_threshold),
            "--medium-risk-threshold", repr(self.medium_risk_threshold),
        ]  # fmt: skip
        dry_run = ["--dry-run"] if self.dry_run else []
        shadow = ["--shadow-version", self.shadow_version] if self.shadow_version else []
        return [
            [*common, "--shard-index", str(index), *dry_run, *shadow] for index in range(self.shard_count)
        ]

    @property
    def parts_prefix(self) -> str:
        return contract.scores_run_prefix(self.business_date, self.attempt)

    def part_keys(self) -> list[str]:
        return [
            contract.part_key(self.business_date, self.attempt, index, self.shard_count)
            for index in range(self.shard_count)
        ]

    def as_xcom(self) -> dict[str, Any]:
        return {**asdict(self), "business_date": self.business_date.isoformat()}

    @classmethod
    def from_xcom(cls, value: dict[str, Any]) -> ScoringPlan:
        return cls(**{**value, "business_date": dt.date.fromisoformat(value["business_date"])})


def new_attempt(scoring_run_id: str) -> str:
    """A plan's attempt: the run id and a random token. A cleared run plans again under the same
    run id; the token keeps its parts apart from those of the run's earlier plan, which the
    date's manifest may list."""
    return contract.scoring_attempt(scoring_run_id, secrets.token_hex(4))

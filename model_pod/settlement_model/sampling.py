"""The training window at a bank's volume: every failure, and at most ``max_settled_rows`` of
the rows that settled, weighted so that the model learns what the whole window would teach.

Sixty business days of a million trades a day are some 100M labelled rows: far more than a
training job holds in memory, and far more than the trees need, since the signal is in the
few percent that fail. So every failed row is kept (weight 1), and the settled rows are
*bottom-k* sampled: each row's key is a hash of its trade and as-of date (training_set.sql,
``sample_hash``: the same on every rebuild, so a snapshot is reproducible), read as a number
in [0, 1), and the k rows with the smallest keys are kept. With tau the (k + 1)-th smallest
key, each kept settled row stood an even chance tau of being kept, so it counts 1 / tau
times (``sample_weight``): weighted counts, the loss the trees minimise and weighted metrics
estimate those of the whole window (Horvitz-Thompson; bottom-k with tau is unbiased).

A window with at most k settled rows keeps them all, tau = 1, and every weight is 1: the
demo's and the tests' small worlds train exactly as they would unsampled.

Memory is bounded by the kept rows plus one batch: when the settled rows held pass 2k, only
the k smallest keys are kept and the threshold falls to the (k + 1)-th; a later row at or
above the threshold can never be among the final k, so it is dropped as it arrives.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

HASH_COLUMN = "sample_hash"  # a signed 64-bit hash (training_set.sql)
WEIGHT_COLUMN = "sample_weight"
SCHEME = "every failed row; settled rows bottom-k by hash(trade_id, as_of_date), weight 1 / tau"


@dataclass(frozen=True)
class Sampling:
    """What was kept of a window, recorded in the snapshot's manifest and with the model."""

    scheme: str
    max_settled_rows: int
    failed_rows: int
    settled_rows_seen: int
    settled_rows_kept: int
    settled_weight: float  # 1 / tau: how many settled rows of the window each kept one stands for

    @property
    def sampled(self) -> bool:
        return self.settled_rows_kept < self.settled_rows_seen

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def was_sampled(recorded: dict[str, Any] | None) -> bool:
    """Whether a snapshot's recorded sampling (its manifest's ``sampling``) left rows out."""
    return recorded is not None and recorded["settled_rows_kept"] < recorded["settled_rows_seen"]


def unit_keys(hashes: Any) -> np.ndarray:
    """Signed 64-bit hashes as numbers in [0, 1), in the hashes' order: their top 53 bits (a
    float64's precision; all 64 would round the largest up to 1.0)."""
    unsigned = np.asarray(hashes, dtype=np.int64).view(np.uint64) ^ np.uint64(1 << 63)
    return (unsigned >> np.uint64(11)).astype(np.float64) / 2.0**53


class SettledRowsSampler:
    """Feed it a window's labelled batches (with ``label`` and HASH_COLUMN); ``result`` gives the
    kept rows, with WEIGHT_COLUMN added and HASH_COLUMN dropped, and what was kept."""

    def __init__(self, max_settled_rows: int, label: str) -> None:
        if max_settled_rows < 1:
            raise ValueError(f"max_settled_rows must be at least 1, not {max_settled_rows}")
        self.max_settled_rows = max_settled_rows
        self.label = label
        self.threshold = 1.0  # tau: no key reaches 1, so until the first cut every row is kept
        self.failed: list[pa.Table] = []
        self.settled: list[pa.Table] = []
        self.settled_held = 0
        self.settled_seen = 0

    def add(self, batch: pa.Table | pa.RecordBatch) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        table = pa.table(batch) if isinstance(batch, pa.RecordBatch) else batch
        failed = pc.fill_null(table.column(self.label), False)
        self.failed.append(table.filter(failed))
        settled = table.filter(pc.invert(failed))
        self.settled_seen += settled.num_rows
        keys = unit_keys(settled.column(HASH_COLUMN).to_numpy(zero_copy_only=False))
        kept = settled.filter(pa.array(keys < self.threshold))
        self.settled.append(kept)
        self.settled_held += kept.num_rows
        if self.settled_held > 2 * self.max_settled_rows:
            self._cut()

    def _cut(self) -> None:
        """Keep the k smallest keys; the threshold becomes the (k + 1)-th smallest."""
        import pyarrow as pa

        if not self.settled:
            return
        held = pa.concat_tables(self.settled)
        if held.num_rows <= self.max_settled_rows:
            self.settled, self.settled_held = [held], held.num_rows
            return
        keys = unit_keys(held.column(HASH_COLUMN).to_numpy(zero_copy_only=False))
        self.threshold = float(np.partition(keys, self.max_settled_rows)[self.max_settled_rows])
        kept = held.filter(pa.array(keys < self.threshold))
        self.settled, self.settled_held = [kept], kept.num_rows

    def result(self) -> tuple[pa.Table | None, Sampling]:
        """The kept rows (None when no batch came) and what was kept."""
        import pyarrow as pa

        self._cut()
        failed_rows = sum(part.num_rows for part in self.failed)
        sampling = Sampling(
            scheme=SCHEME,
            max_settled_rows=self.max_settled_rows,
            failed_rows=failed_rows,
            settled_rows_seen=self.settled_seen,
            settled_rows_kept=self.settled_held,
            settled_weight=1.0 / self.threshold,
        )
        if not self.failed:
            return None, sampling
        weighted = [
            part.append_column(WEIGHT_COLUMN, pa.array(np.full(part.num_rows, weight)))
            for part, weight in (
                (pa.concat_tables(self.failed), 1.0),
                (self.settled[0], sampling.settled_weight),
            )
        ]
        rows = pa.concat_tables(weighted).drop_columns([HASH_COLUMN])
        # The window's own order (as-of date, trade), whatever the cuts did: the same snapshot
        # gives the same rows in the same order, so the same model.
        return rows.sort_by([("as_of_date", "ascending"), ("trade_id", "ascending")]), sampling

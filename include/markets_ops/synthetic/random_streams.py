"""Independent, reproducible random streams: one per (seed, purpose, key...).

Each stream is seeded from the world's seed, a stable code for its purpose and its keys (a
business date's ordinal, for instance), so generating one day never depends on having
generated another, and adding a new purpose never shifts the draws of an existing one.
"""

from __future__ import annotations

import zlib

import numpy as np


def rng_for(seed: int, purpose: str, *keys: int) -> np.random.Generator:
    purpose_code = zlib.crc32(purpose.encode())  # stable across processes, unlike hash()
    return np.random.default_rng(np.random.SeedSequence([seed, purpose_code, *keys]))

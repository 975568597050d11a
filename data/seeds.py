"""Independent, reproducible random streams for each part of the generator.

Each module draws from its own stream keyed by (seed, name), so that
changing how many numbers one part consumes does not reshuffle the others,
and nothing depends on global random state or on hash randomisation.
"""

from __future__ import annotations

import zlib

import numpy as np


def rng_for(seed: int, name: str) -> np.random.Generator:
    """A numpy Generator for the named part of the generator under ``seed``."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])

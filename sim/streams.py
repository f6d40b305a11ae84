"""Named random streams spawned from one run seed (DESIGN.md section 1).

Each subsystem draws from its own :class:`numpy.random.Generator`, keyed by a stable name, so a
policy that changes how moderation behaves does not reshuffle who asks what: baseline and
scenario share common random numbers wherever their mechanics agree.
"""

from __future__ import annotations

import zlib

import numpy as np


class Streams:
    """A lazily-built family of generators, one per name, all derived from ``seed``.

    Attributes:
        seed: The run seed.
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._streams: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._streams.get(name)
        if gen is None:
            key = zlib.crc32(name.encode("utf-8"))
            seq = np.random.SeedSequence(entropy=self.seed, spawn_key=(key,))
            gen = self._streams[name] = np.random.Generator(np.random.PCG64(seq))
        return gen

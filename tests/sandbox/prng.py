"""A tiny deterministic PRNG for the sandbox's generated data.

Python's `random` module is deliberately not used: the algorithms behind
`random.choice`, `randrange` and friends have changed between Python versions,
and the sandbox promises byte-identical data on every machine and every Python 3.
Each generator is SplitMix64 (Steele, Lea & Flood, 2014) seeded from the SHA-256
of a stable string such as ``"cxengage|42"``, so every customer and vendor gets an
independent, reproducible stream, and adding a draw to one stream never shifts
another.
"""

import hashlib
import uuid

_MASK64 = (1 << 64) - 1


class Rng:
    """SplitMix64 stream seeded from SHA-256 of the given parts."""

    def __init__(self, *seed_parts):
        seed = "|".join(str(p) for p in seed_parts).encode("utf-8")
        self._state = int.from_bytes(hashlib.sha256(seed).digest()[:8], "big")

    def next_u64(self):
        self._state = (self._state + 0x9E3779B97F4A7C15) & _MASK64
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return z ^ (z >> 31)

    def below(self, n):
        """An integer in [0, n); the modulo bias is below 2**-50 for our n."""
        return self.next_u64() % n

    def randint(self, lo, hi):
        """An integer in [lo, hi], both ends included."""
        return lo + self.below(hi - lo + 1)

    def random(self):
        """A float in [0, 1) with 53 random bits (exact in IEEE 754 doubles)."""
        return (self.next_u64() >> 11) / float(1 << 53)

    def chance(self, p):
        return self.random() < p

    def choice(self, seq):
        return seq[self.below(len(seq))]

    def weighted(self, pairs):
        """Pick from [(value, integer_weight), ...]."""
        total = sum(w for _, w in pairs)
        roll = self.below(total)
        for value, weight in pairs:
            if roll < weight:
                return value
            roll -= weight
        raise AssertionError("unreachable")

    def digits(self, n):
        return "".join(str(self.below(10)) for _ in range(n))

    def token_bytes(self, n):
        out = bytearray()
        while len(out) < n:
            out += self.next_u64().to_bytes(8, "big")
        return bytes(out[:n])

    def uuid4(self):
        """A version-4-shaped UUID string drawn from this stream."""
        return str(uuid.UUID(bytes=self.token_bytes(16), version=4))

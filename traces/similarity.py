"""MinHash signatures of prompts and their LSH band keys; pure functions over datasketch.

A prompt is case-folded, its whitespace collapsed, and cut into character 5-grams; a
128-permutation MinHash of those shingles estimates Jaccard similarity to within a few
hundredths. The first 64 values, in 16 bands of 4, give the band keys stored in an indexed
table: two prompts share at least one key with probability ``1 - (1 - s**4)**16`` (0.99+ at
s >= 0.7, 0.89 at 0.6), so a similarity lookup is an index lookup followed by an exact
comparison of the few candidates' signatures.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
from datasketch import MinHash

NUM_PERM = 128
SEED = 1
SCHEME = "affine32"
SHINGLE = 5
BANDS = 16
ROWS = 4
SIGNATURE_BYTES = NUM_PERM * 4

_SPACES = re.compile(r"\s+")


def shingles(text: str) -> list[bytes]:
    """Character 5-grams of the normalised text (the whole text when shorter), as UTF-8."""
    norm = _SPACES.sub(" ", text.casefold()).strip()
    if len(norm) <= SHINGLE:
        return [norm.encode("utf-8")]
    return sorted({norm[i : i + SHINGLE].encode("utf-8") for i in range(len(norm) - SHINGLE + 1)})


@cache
def _permutations() -> Any:
    """The permutation parameters of (NUM_PERM, SEED, SCHEME), drawn once per process instead of per call."""
    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations


def signatures(texts: Sequence[str]) -> list[bytes]:
    """One little-endian uint32 MinHash signature (``SIGNATURE_BYTES`` long) per text."""
    hashes = MinHash.bulk(
        [shingles(t) for t in texts], num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, permutations=_permutations()
    )
    return [np.asarray(m.hashvalues, dtype="<u4").tobytes() for m in hashes]


def band_keys(signature: bytes) -> list[int]:
    """``BANDS`` signed 64-bit keys; the band number is hashed in, so one index serves all bands."""
    keys = []
    for band in range(BANDS):
        chunk = signature[band * ROWS * 4 : (band + 1) * ROWS * 4]
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys


def similarity(a: bytes, b: bytes) -> float:
    """The MinHash estimate of the Jaccard similarity of two signatures' shingle sets."""
    left = np.frombuffer(a, dtype="<u4")
    right = np.frombuffer(b, dtype="<u4")
    return float(np.count_nonzero(left == right)) / NUM_PERM

"""MinHash signatures of prompts and their LSH band keys; pure functions, vectorised over a batch.

A prompt is case-folded, its whitespace collapsed, and cut into character 5-grams; a
128-permutation MinHash of those shingles estimates Jaccard similarity to within a few
hundredths. The first 64 values, in 16 bands of 4, give the band keys stored in an indexed
table: two prompts share at least one key with probability ``1 - (1 - s**4)**16`` (0.99+ at
s >= 0.7, 0.89 at 0.6), so a similarity lookup is an index lookup followed by an exact
comparison of the few candidates' signatures.

The signatures are exactly datasketch's (its permutation parameters, its hashing; a test holds
them equal), computed for a whole batch in a few NumPy operations instead of one ``MinHash``
object per prompt.
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
BLOCK_SHINGLES = 65_536
NUMPY_SHINGLING_MIN = 16  # from here on NumPy shingling is quicker (1 text: 257 µs vs 133 µs)

_SPACES = re.compile(r"\s+")


def _normal(text: str) -> str:
    return _SPACES.sub(" ", text.casefold()).strip()


def _shingles_of(norm: str) -> list[bytes]:
    if len(norm) <= SHINGLE:
        return [norm.encode("utf-8")]
    return sorted({norm[i : i + SHINGLE].encode("utf-8") for i in range(len(norm) - SHINGLE + 1)})


def shingles(text: str) -> list[bytes]:
    """Character 5-grams of the normalised text (the whole text when shorter), as UTF-8."""
    return _shingles_of(_normal(text))


@cache
def _permutations() -> tuple[Any, Any]:
    """The affine permutation parameters ``a`` and ``b`` of (NUM_PERM, SEED, SCHEME), as datasketch
    draws them, once per process."""
    a, b = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations
    return a.astype(np.uint32), b.astype(np.uint32)


def _fmix32(hv: Any) -> Any:
    """MurmurHash3's 32-bit finaliser, element-wise (datasketch's pre-mix for the affine schemes)."""
    hv = hv ^ (hv >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    return hv ^ (hv >> np.uint32(16))


def _permuted(hv: Any) -> Any:
    """``a * hv + b`` modulo 2**32 for every permutation (rows) and hash (columns), in one array
    written in place: the two temporaries of the plain expression took 4.2 ms for a batch's
    15,000 shingles, this 0.5 ms."""
    a, b = _permutations()
    out = np.empty((NUM_PERM, hv.size), dtype=np.uint32)
    with np.errstate(over="ignore"):
        np.multiply(a[:, None], hv[None, :], out=out)
    out += b[:, None]
    return out


def _minhash_block(groups: list[list[bytes]]) -> Any:
    """The MinHash values of a few shingle lists as one (len(groups), NUM_PERM) uint32 array.

    The same arithmetic as datasketch's ``MinHash.update_batch`` (SHA-1's first 4 bytes, the
    finaliser, ``a * h + b`` modulo 2**32, the minimum per permutation), done for every shingle
    of the block at once instead of one ``MinHash`` object per text; a shingle that recurs in
    the block is hashed once.
    """
    distinct: dict[bytes, int] = {}
    positions = np.fromiter(
        (distinct.setdefault(shingle, len(distinct)) for group in groups for shingle in group), dtype=np.int64
    )
    digests = b"".join(hashlib.sha1(shingle).digest()[:4] for shingle in distinct)  # noqa: S324
    hv = _fmix32(np.frombuffer(digests, dtype="<u4").astype(np.uint32))[positions]
    permuted = _permuted(hv)
    starts = np.concatenate(([0], np.cumsum([len(g) for g in groups[:-1]], dtype=np.int64)))
    return np.minimum.reduceat(permuted, starts, axis=1).T


def _minhash_ascii(norms: list[str]) -> Any:
    """``_minhash_block`` of normalised ASCII texts longer than a shingle, with the shingling done
    in NumPy: each 5-gram is read as a 40-bit integer, the batch's distinct ones are hashed once,
    and a text's repeated shingles need no set (a minimum is the same with or without them)."""
    counts = np.fromiter((len(norm) - SHINGLE + 1 for norm in norms), dtype=np.int64, count=len(norms))
    text_starts = np.concatenate(([0], np.cumsum(counts + SHINGLE - 1)[:-1]))
    group_starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    windows = np.arange(int(counts.sum()), dtype=np.int64) + np.repeat(text_starts - group_starts, counts)
    chars = np.frombuffer("".join(norms).encode("ascii"), dtype=np.uint8).astype(np.uint64)
    codes = chars[windows]
    for offset in range(1, SHINGLE):
        codes |= chars[windows + offset] << np.uint64(8 * offset)
    distinct, inverse = np.unique(codes, return_inverse=True)
    text = distinct.astype("<u8").view(np.uint8).reshape(-1, 8)[:, :SHINGLE].tobytes()
    digests = b"".join(
        hashlib.sha1(text[i : i + SHINGLE]).digest()[:4]  # noqa: S324
        for i in range(0, len(text), SHINGLE)
    )
    permuted = _permuted(_fmix32(np.frombuffer(digests, dtype="<u4").astype(np.uint32))[inverse.ravel()])
    return np.minimum.reduceat(permuted, group_starts, axis=1).T


def _blocks(indexes: list[int], sizes: list[int]) -> Any:
    """``indexes`` cut into runs of about ``BLOCK_SHINGLES`` shingles (``sizes`` gives each one's)."""
    block: list[int] = []
    total = 0
    for index, size in zip(indexes, sizes, strict=True):
        block.append(index)
        total += size
        if total >= BLOCK_SHINGLES:
            yield block
            block, total = [], 0
    if block:
        yield block


def signature_matrix(texts: Sequence[str]) -> Any:
    """One row of NUM_PERM uint32 MinHash values per text, equal to datasketch's ``MinHash.bulk``.

    Texts are hashed in blocks of about ``BLOCK_SHINGLES`` shingles, so memory stays bounded
    (a block's permuted hashes take ``BLOCK_SHINGLES * NUM_PERM * 4`` bytes) whatever the batch.
    When there are ``NUMPY_SHINGLING_MIN`` or more, ASCII texts longer than a shingle (nearly
    all prompts) are shingled in NumPy (``_minhash_ascii``); the others one set at a time.
    """
    rows = np.empty((len(texts), NUM_PERM), dtype=np.uint32)
    norms = [_normal(text) for text in texts]
    wide = [n for n, norm in enumerate(norms) if len(norm) > SHINGLE and norm.isascii()]
    if len(wide) < NUMPY_SHINGLING_MIN:
        wide = []  # a few texts go quicker one set at a time
    chosen = set(wide)
    rest = [n for n in range(len(norms)) if n not in chosen]
    for block in _blocks(wide, [len(norms[n]) for n in wide]):
        rows[block] = _minhash_ascii([norms[n] for n in block])
    groups = {n: _shingles_of(norms[n]) for n in rest}
    for block in _blocks(rest, [len(groups[n]) for n in rest]):
        rows[block] = _minhash_block([groups[n] for n in block])
    return rows


def signatures(texts: Sequence[str]) -> list[bytes]:
    """One little-endian uint32 MinHash signature (``SIGNATURE_BYTES`` long) per text."""
    return [row.tobytes() for row in signature_matrix(texts).astype("<u4")]


def _fmix64(x: Any) -> Any:
    """MurmurHash3's 64-bit finaliser, element-wise (a bijection that spreads every input bit)."""
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xC4CEB9FE1A85EC53)
    return x ^ (x >> np.uint64(33))


def band_key_matrix(matrix: Any) -> Any:
    """``BANDS`` signed 64-bit keys per signature row of ``signature_matrix``.

    A band's ``ROWS`` (4) uint32 values are read as two 64-bit words and mixed with the band
    number, so one key can only match the same band of another signature; distinct bands
    collide with probability about 2**-64, and a collision only adds a candidate that the exact
    comparison then drops.
    """
    values = np.ascontiguousarray(matrix[:, : BANDS * ROWS], dtype="<u4").view("<u8").astype(np.uint64)
    low, high = values[:, 0::2], values[:, 1::2]
    band = np.arange(1, BANDS + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        keys = _fmix64(_fmix64(low ^ band) ^ high)
    return keys.view(np.int64)


def band_keys(signature: bytes) -> list[int]:
    """The ``BANDS`` keys of one stored signature (``band_key_matrix`` of its values)."""
    row = np.frombuffer(signature, dtype="<u4").reshape(1, NUM_PERM)
    return [int(key) for key in band_key_matrix(row)[0]]


def similarity(a: bytes, b: bytes) -> float:
    """The MinHash estimate of the Jaccard similarity of two signatures' shingle sets."""
    left = np.frombuffer(a, dtype="<u4")
    right = np.frombuffer(b, dtype="<u4")
    return float(np.count_nonzero(left == right)) / NUM_PERM

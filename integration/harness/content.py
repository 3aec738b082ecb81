"""Expected file content (blobs computed on demand, so big files need no RAM) and comparison
helpers that name the first differing offset."""

from __future__ import annotations

import hashlib
import io
import os
import random
from dataclasses import dataclass
from typing import Iterable, Iterator

from .env import MiB

class Blob:
    """Expected file content: random access without materialising big files."""

    size: int

    def read(self, off: int, n: int) -> bytes:
        raise NotImplementedError

    def iter_blocks(self, block: int = MiB) -> Iterator[bytes]:
        off = 0
        while off < self.size:
            n = min(block, self.size - off)
            yield self.read(off, n)
            off += n

    def sha256(self) -> str:
        if getattr(self, "_sha", None) is None:
            h = hashlib.sha256()
            for b in self.iter_blocks():
                h.update(b)
            self._sha = h.hexdigest()
        return self._sha

    def bytes(self) -> bytes:
        return self.read(0, self.size)


class BytesBlob(Blob):
    def __init__(self, data: bytes):
        self.data = bytes(data)
        self.size = len(self.data)

    def read(self, off, n):
        return self.data[off:off + n]


class RandomBlob(Blob):
    """Pseudo-random bytes; block i is random.Random(seed-derived)(i).randbytes(BLOCK), so any
    range can be recomputed cheaply (~500 MB/s)."""

    BLOCK = MiB

    def __init__(self, seed: int, size: int):
        self.seed = seed
        self.size = size
        self._cache: tuple[int, bytes] | None = None

    def _block(self, i: int) -> bytes:
        if self._cache and self._cache[0] == i:
            return self._cache[1]
        b = random.Random(self.seed * 1_000_003 + i).randbytes(self.BLOCK)
        self._cache = (i, b)
        return b

    def read(self, off, n):
        n = max(0, min(n, self.size - off))
        out = bytearray()
        while n > 0:
            i, o = divmod(off, self.BLOCK)
            b = self._block(i)[o:o + n]
            out += b
            off += len(b)
            n -= len(b)
        return bytes(out)


def random_bytes(seed: int, n: int) -> bytes:
    return random.Random(seed).randbytes(n)


_WORDS = ("seaweed filer volume needle chunk manifest mount fuse kernel page cache read write "
          "offset interval cookie replica master leader gzip cipher lorem ipsum dolor sit amet "
          "consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna").split()


def text_bytes(seed: int, n: int) -> bytes:
    """Compressible (gzips well) but not trivially periodic text."""
    rng = random.Random(seed)
    out = io.StringIO()
    size = 0
    line_no = 0
    while size < n:
        line = f"{line_no:08d} " + " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(4, 16))) + "\n"
        out.write(line)
        size += len(line)
        line_no += 1
    return out.getvalue().encode()[:n]


class Expected:
    """A mutable expected file used to model offset writes / appends (fits in RAM)."""

    def __init__(self, data: bytes = b""):
        self.buf = bytearray(data)

    def write(self, off: int, data: bytes) -> None:
        end = off + len(data)
        if end > len(self.buf):
            self.buf.extend(b"\0" * (end - len(self.buf)))
        self.buf[off:end] = data

    def append(self, data: bytes) -> None:
        self.buf += data

    def blob(self) -> BytesBlob:
        return BytesBlob(bytes(self.buf))


@dataclass
class Mismatch:
    path: str
    offset: int
    detail: str

    def __str__(self):
        return f"{self.path}: offset {self.offset}: {self.detail}"


def first_difference(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n if len(a) != len(b) else -1
    lo, hi = 0, n
    while hi - lo > 64:
        mid = (lo + hi) // 2
        if a[lo:mid] != b[lo:mid]:
            hi = mid
        else:
            lo = mid
    for i in range(lo, hi):
        if a[i] != b[i]:
            return i
    return n


def compare_stream(name: str, got_blocks: Iterable[bytes], expected: Blob) -> tuple[int, Mismatch | None]:
    """Compares a stream of blocks with the expected blob. Returns (bytes compared, mismatch)."""
    off = 0
    h = hashlib.sha256()
    for blk in got_blocks:
        exp = expected.read(off, len(blk))
        if blk != exp:
            d = first_difference(blk, exp)
            at = off + d
            if len(exp) < len(blk) and d >= len(exp):
                return off + d, Mismatch(name, at, f"file longer than expected {expected.size} bytes")
            return off + d, Mismatch(
                name, at, f"got {blk[d:d + 16].hex()} expected {exp[d:d + 16].hex()} "
                          f"(expected size {expected.size})")
        h.update(blk)
        off += len(blk)
    if off != expected.size:
        return off, Mismatch(name, off, f"short: got {off} bytes, expected {expected.size}")
    if h.hexdigest() != expected.sha256():
        return off, Mismatch(name, 0, f"sha256 {h.hexdigest()} != {expected.sha256()}")
    return off, None


def read_file_blocks(path: str | os.PathLike, block: int = MiB) -> Iterator[bytes]:
    with open(path, "rb", buffering=0) as f:
        while True:
            b = f.read(block)
            if not b:
                break
            yield b


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    for b in read_file_blocks(path):
        h.update(b)
    return h.hexdigest()


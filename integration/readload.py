"""Readers that keep a mount busy and account for every byte: sequential O_DIRECT passes and random
O_DIRECT preads, each block compared with the expected content, errors counted by errno, progress
kept as a timeline so that stalls and the time until reads are fast again can be measured.

Used by test_topology.py and test_soak.py."""

from __future__ import annotations

import bisect
import mmap
import os
import random
import threading
import time
from collections import Counter as Tally
from pathlib import Path

from harness import MiB, errno_name, first_difference
from test_rdma_faults import open_direct, pread_exact


class Progress:
    """Completed reads of all readers: (monotonic time, bytes) events, errors by errno, mismatches."""

    def __init__(self):
        self.lock = threading.Lock()
        self.times: list[float] = []
        self.cum: list[int] = []     # cumulative bytes after each event
        self.total = 0
        self.reads = 0
        self.errors: Tally = Tally()  # errno name -> count
        self.mismatches = 0
        self.problems: list[str] = []
        self.max_latency = 0.0
        self.max_latency_at = 0.0

    def done(self, n: int, started: float) -> None:
        now = time.monotonic()
        with self.lock:
            self.total += n
            self.reads += 1
            self.times.append(now)
            self.cum.append(self.total)
            if now - started > self.max_latency:
                self.max_latency, self.max_latency_at = now - started, started

    def error(self, e: int, what: str) -> None:
        with self.lock:
            self.errors[errno_name(e)] += 1
            if len(self.problems) < 50:
                self.problems.append(what)

    def mismatch(self, what: str) -> None:
        with self.lock:
            self.mismatches += 1
            if len(self.problems) < 50:
                self.problems.append(what)

    def bytes_between(self, t0: float, t1: float) -> int:
        with self.lock:
            i = bisect.bisect_left(self.times, t0)
            j = bisect.bisect_right(self.times, t1)
            before = self.cum[i - 1] if i > 0 else 0
            upto = self.cum[j - 1] if j > 0 else 0
            return upto - before

    def rate(self, t0: float, t1: float) -> float:
        return self.bytes_between(t0, t1) / max(1e-9, t1 - t0)

    def longest_gap(self, t0: float, t1: float) -> float:
        """The longest time within [t0, t1] without any read completing."""
        with self.lock:
            ts = [t for t in self.times if t0 <= t <= t1]
        pts = [t0] + ts + [t1]
        return max(b - a for a, b in zip(pts, pts[1:]))

    def first_fast(self, start: float, end: float, baseline: float, frac: float = 0.5,
                   window: float = 1.0, step: float = 0.1) -> float | None:
        """Seconds after `start` until a `window`-long stretch first carries >= frac * baseline B/s."""
        t = start
        while t + window <= end:
            if self.rate(t, t + window) >= frac * baseline:
                return t - start
            t += step
        return None


class Reader(threading.Thread):
    """One reader thread on one mount. kind "seq": whole files front to back in 1 MiB O_DIRECT reads;
    "rand": O_DIRECT preads of 4 KiB..1 MiB at random aligned offsets. Every block compared."""

    def __init__(self, name: str, kind: str, root: Path, files: dict, progress: Progress, seed: int):
        super().__init__(name=name, daemon=True)
        self.kind = kind
        self.root = Path(root)
        self.files = [(p, b) for p, b in sorted(files.items())]
        self.progress = progress
        self.rng = random.Random(seed)
        self.stop_evt = threading.Event()
        self.passes = 0

    def _path(self, p: str) -> Path:
        return self.root / p.lstrip("/")

    def run(self) -> None:
        buf = mmap.mmap(-1, MiB)
        try:
            if self.kind == "seq":
                self._seq(buf)
            else:
                self._rand(buf)
        finally:
            buf.close()

    def _seq(self, buf) -> None:
        k = self.rng.randrange(len(self.files))
        while not self.stop_evt.is_set():
            p, blob = self.files[k % len(self.files)]
            k += 1
            try:
                fd = open_direct(self._path(p))
            except OSError as e:
                self.progress.error(e.errno, f"{self.name}: open {p}: {errno_name(e.errno)}")
                time.sleep(0.05)
                continue
            try:
                off = 0
                while off < blob.size and not self.stop_evt.is_set():
                    self._one(fd, buf, p, blob, off, MiB)
                    off += MiB
            finally:
                os.close(fd)
            self.passes += 1

    def _rand(self, buf) -> None:
        fds = {}
        try:
            while not self.stop_evt.is_set():
                p, blob = self.rng.choice(self.files)
                if p not in fds:
                    try:
                        fds[p] = open_direct(self._path(p))
                    except OSError as e:
                        self.progress.error(e.errno, f"{self.name}: open {p}: {errno_name(e.errno)}")
                        time.sleep(0.05)
                        continue
                off = self.rng.randrange(0, blob.size) & ~4095
                n = self.rng.choice((4096, 4096, 65536, 131072, 3 * 4096, MiB))
                self._one(fds[p], buf, p, blob, off, n)
        finally:
            for fd in fds.values():
                os.close(fd)

    def _one(self, fd: int, buf, p: str, blob, off: int, n: int) -> None:
        t = time.monotonic()
        try:
            got = pread_exact(fd, buf, off, min(n, blob.size - off))
        except OSError as e:
            self.progress.error(e.errno, f"{self.name}: {p} pread({n}) at {off}: {errno_name(e.errno)} "
                                         f"after {time.monotonic() - t:.2f}s")
            return
        exp = blob.read(off, min(n, blob.size - off))
        if got != exp:
            d = first_difference(got, exp)
            self.progress.mismatch(f"{self.name}: {p} pread({n}) at {off}: differs at {off + d} "
                                   f"({len(got)} vs {len(exp)} bytes)")
            return
        self.progress.done(len(got), t)


class ReadLoad:
    """A sequential and a random reader on each mount, one shared Progress."""

    def __init__(self, mounts, files: dict, seed: int = 1, kinds=("seq", "rand")):
        from harness import RandomBlob
        self.progress = Progress()
        self.readers: list[Reader] = []
        for i, m in enumerate(mounts):
            for j, kind in enumerate(kinds):
                own = {p: RandomBlob(b.seed, b.size) if isinstance(b, RandomBlob) else b for p, b in files.items()}
                self.readers.append(Reader(f"{m.name}-{kind}", kind, m.path, own, self.progress,
                                           seed * 1000 + i * 10 + j))

    def start(self) -> "ReadLoad":
        for r in self.readers:
            r.start()
        return self

    def stop(self, timeout: float = 120) -> list[str]:
        for r in self.readers:
            r.stop_evt.set()
        for r in self.readers:
            r.join(timeout)
        return [r.name for r in self.readers if r.is_alive()]

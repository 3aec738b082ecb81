"""Faults on the RDMA read path: the agent killed (-9) and restarted under sequential and parallel
readers, an agent on the wrong files (an empty directory; a corrupted copy of the right volumes),
vacuum, appends and deletes while the agent runs, and -rdma.fallback=false (EIO, bounded by
-rdma.timeoutMs, instead of a hang or HTTP).

Readers use O_DIRECT (and the mount a small chunk cache) so that repeated passes really go to the
mount and through the agent instead of being answered from the kernel page cache."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import mmap
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from harness import (STATS, MiB, BytesBlob, Expected, RandomBlob, errno_name, first_difference, format_mismatches,
                     http_request, random_bytes, verify_sequential)
from test_rdma import Agent, Counters, RdmaMount, diag, thread_stacks, volume_server_key, wait_until

pytestmark = pytest.mark.fault

ROOT = "/rfault"
BIG_MB = int(os.environ.get("INTEG_RDMA_BIG_MB", "208"))
SMALL_CACHE = ["-cacheCapacityMB=8"]
KILLS = 3


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def files(cluster):
    """path -> RandomBlob; uploaded once for the module."""
    t0 = time.monotonic()
    out = {}
    specs = [("big", 4001, BIG_MB * MiB + 4321, 4), ("m24", 4002, 24 * MiB + 5, 1),
             ("m9", 4003, 9 * MiB + 77, 2)]
    specs += [(f"f{i}", 4100 + i, 4 * MiB + i, 1) for i in range(6)]
    for name, seed, size, maxmb in specs:
        path = f"{ROOT}/{name}"
        blob = RandomBlob(seed, size)
        cluster.put(path, blob, maxMB=maxmb)
        out[path] = blob
    STATS.notes.append(f"rdma faults: {len(out)} files / {sum(b.size for b in out.values())} B uploaded in "
                       f"{time.monotonic() - t0:.1f}s (big file {BIG_MB} MiB)")
    return out


def fresh_blob(b: RandomBlob) -> RandomBlob:
    """RandomBlob keeps a one-block cache that is not thread-safe: one instance per thread."""
    return RandomBlob(b.seed, b.size)


# ---------------------------------------------------------------------------------------------
# O_DIRECT readers
# ---------------------------------------------------------------------------------------------

class ReadFailure(Exception):
    pass


def open_direct(path) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECT)
    except OSError as e:
        if e.errno != errno.EINVAL:
            raise
        fd = os.open(path, os.O_RDONLY)  # no O_DIRECT: drop the page cache per pass instead
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return fd


def pread_exact(fd: int, buf: mmap.mmap, off: int, n: int) -> bytes:
    """pread of n bytes at off into an aligned buffer (continues short reads; stops at EOF)."""
    got = bytearray()
    while len(got) < n:
        k = os.preadv(fd, [memoryview(buf)[:n - len(got)]], off + len(got))
        if k == 0:
            break
        got += buf[:k]
    return bytes(got)


def check_whole_file(path, blob: RandomBlob, block: int = MiB) -> tuple[int, str]:
    """One O_DIRECT pass compared block by block; returns (bytes, sha256). Raises ReadFailure with
    the offset on an error or a difference."""
    fd = open_direct(path)
    buf = mmap.mmap(-1, block)
    h = hashlib.sha256()
    off = 0
    try:
        while True:
            try:
                b = pread_exact(fd, buf, off, block)
            except OSError as e:
                raise ReadFailure(f"{path}: pread at offset {off}: {errno_name(e.errno)} ({e})") from None
            if not b:
                break
            exp = blob.read(off, len(b))
            if b != exp:
                d = first_difference(b, exp)
                raise ReadFailure(f"{path}: offset {off + d}: got {b[d:d + 16].hex()} expected "
                                  f"{exp[d:d + 16].hex()} (read of {len(b)} at {off})")
            h.update(b)
            off += len(b)
    finally:
        os.close(fd)
        buf.close()
    if off != blob.size:
        raise ReadFailure(f"{path}: short: {off} of {blob.size} bytes")
    sha = h.hexdigest()
    if sha != blob.sha256():
        raise ReadFailure(f"{path}: sha256 {sha} != {blob.sha256()}")
    return off, sha


class Worker(threading.Thread):
    """Runs `step()` until stop is set (and at least `min_steps` times); collects failures."""

    def __init__(self, name: str, step, min_steps: int = 1):
        super().__init__(name=name, daemon=True)
        self.step = step
        self.min_steps = min_steps
        self.stop_evt = threading.Event()
        self.steps = 0
        self.bytes = 0
        self.failures: list[str] = []

    def run(self):
        while not self.stop_evt.is_set() or self.steps < self.min_steps:
            try:
                self.bytes += self.step()
            except ReadFailure as e:
                self.failures.append(f"{self.name} step {self.steps + 1}: {e}")
            except OSError as e:
                self.failures.append(f"{self.name} step {self.steps + 1}: {errno_name(e.errno)} {e}")
            except Exception as e:  # noqa: BLE001 - surface anything
                self.failures.append(f"{self.name} step {self.steps + 1}: {e!r}")
            self.steps += 1
            if len(self.failures) > 20:
                return


def stop_workers(workers, timeout: float = 120, mount=None) -> list[str]:
    """Stops the readers; one still in a read after `timeout` (each read is bounded by the mount's
    timeouts, 30 s at most) is a hang: the failure carries every thread's stack of the mount."""
    for w in workers:
        w.stop_evt.set()
    deadline = time.monotonic() + timeout
    for w in workers:
        w.join(max(0.0, deadline - time.monotonic()))
    hung = [w.name for w in workers if w.is_alive()]
    fails = [f for w in workers for f in w.failures]
    if hung:
        fails.append(f"workers still running after {timeout}s: {hung}")
        if mount is not None and mount.proc is not None and mount.proc.alive():
            fails.append("mount threads:\n" + thread_stacks(mount.proc.pid))
    return fails


def random_pread_step(m, paths_blobs, rng: random.Random, block_max: int = MiB):
    """One aligned O_DIRECT pread at a random offset of a random file, compared."""
    fds = {}
    buf = mmap.mmap(-1, block_max)

    def step():
        path, blob = rng.choice(paths_blobs)
        if path not in fds:
            fds[path] = open_direct(m.p(path))
        off = rng.randrange(0, blob.size) & ~4095
        n = rng.choice((4096, 65536, 131072, 3 * 4096, block_max))
        try:
            got = pread_exact(fds[path], buf, off, n)
        except OSError as e:
            raise ReadFailure(f"{path}: pread({n}) at {off}: {errno_name(e.errno)}") from None
        exp = blob.read(off, n)
        if got != exp:
            d = first_difference(got, exp)
            raise ReadFailure(f"{path}: pread({n}) at {off}: differs at offset {off + d}: got "
                              f"{got[d:d + 16].hex()} expected {exp[d:d + 16].hex()} ({len(got)} bytes)")
        return len(got)

    def close():
        for fd in fds.values():
            os.close(fd)
        buf.close()
    return step, close


def kill_cycles(m: RdmaMount, agent: Agent, workers, what: str, kills: int = KILLS) -> list[str]:
    """kill -9 / restart the agent `kills` times while the workers read. Before the first kill the
    agent must serve (rdma bytes grow); each cycle kills it, waits until the mount falls back
    (fallback counter and http bytes grow), restarts it on the same port and waits until the mount
    reads through it again (rdma bytes grow). Returns one log line per cycle."""
    log = []

    def serving(base: Counters, need: int = 2 * MiB):
        return lambda: (m.counters() - base).rdma >= need

    def dead_workers():
        return [w.name for w in workers if not w.is_alive()]

    wait_until(f"[{what}] agent serving before the first kill", serving(m.counters()), 90,
               diag=lambda: diag(m, agent))
    for i in range(kills):
        assert not dead_workers(), f"[{what}] readers finished before kill {i + 1}: {dead_workers()}"
        before = m.counters()
        t = time.monotonic()
        agent.kill9()
        wait_until(f"[{what}] cycle {i + 1}: fallback to HTTP after kill -9",
                   lambda: (lambda d: d.fallback_total > 0 and d.http > 0)(m.counters() - before), 60,
                   diag=lambda: diag(m, agent))
        fell = time.monotonic() - t
        agent.start()
        up = time.monotonic() - t
        base = m.counters()
        wait_until(f"[{what}] cycle {i + 1}: agent serving again after the restart", serving(base), 90,
                   diag=lambda: diag(m, agent))
        back = time.monotonic() - t
        log.append(f"kill {i + 1}: HTTP fallback after {fell:.2f}s, agent answering ping after {up:.2f}s, "
                   f"mount reading through it again after {back:.2f}s; during the cycle: {m.counters() - before}")
        assert not dead_workers(), f"[{what}] readers finished during cycle {i + 1}: {dead_workers()}"
    return log


def new_agent(cluster, name, **kw) -> Agent:
    return Agent(cluster, name=name, **kw)


# ---------------------------------------------------------------------------------------------
# kill -9 under readers
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["peer", "cma"])
def test_kill9_during_sequential_read(cluster, files, mode):
    """kill -9 of the agent under a sequential reader; "cma": both ends without UCX peer error
    handling (one-sided cma reads), where only the mount's timeouts and UCX's connection manager
    notice the dead agent."""
    big = f"{ROOT}/big"
    cma = mode == "cma"
    a = new_agent(cluster, f"agent-seq-{mode}", peer_errors=not cma)
    try:
        a.start()
        if cma:
            lanes = a.ping(show_transport=True).stderr.decode()
            assert "cma/" in lanes, f"expected a cma lane without peer error handling:\n{lanes}"
        args = [*SMALL_CACHE, *(["-rdma.peerErrorHandling=false"] if cma else [])]
        with RdmaMount(cluster, {volume_server_key(cluster): a.address}, args=args,
                       name=f"rdma-seq-{mode}") as m:
            blob = fresh_blob(files[big])
            blob.sha256()
            c0 = m.counters()
            t0 = time.monotonic()
            w = Worker("seq-reader", lambda: check_whole_file(m.p(big), blob)[0])
            w.start()
            try:
                log = kill_cycles(m, a, [w], "sequential")
            finally:
                fails = stop_workers([w], timeout=300, mount=m)
            d = m.counters() - c0
            STATS.notes.append(f"rdma faults [{mode}: sequential {BIG_MB} MiB, {KILLS} x kill -9]: {w.steps} passes "
                               f"({w.bytes / MiB:.0f} MiB compared) in {time.monotonic() - t0:.1f}s; {d}")
            STATS.notes += [f"  {x}" for x in log]
            assert not fails, "\n".join(fails[:20]) + "\n" + diag(m, a)
            assert w.steps >= 1 and d.fallback_total > 0 and d.http > 0 and d.rdma > 0, str(d)
    finally:
        a.stop()


def test_kill9_during_parallel_random_reads(cluster, files):
    paths = [f"{ROOT}/big", f"{ROOT}/m24", f"{ROOT}/m9"]
    a = new_agent(cluster, "agent-par")
    try:
        a.start()
        with RdmaMount(cluster, {volume_server_key(cluster): a.address}, args=SMALL_CACHE,
                       name="rdma-par") as m:
            workers, closers = [], []
            for t in range(4):
                pb = [(p, fresh_blob(files[p])) for p in paths]
                step, close = random_pread_step(m, pb, random.Random(1000 + t))
                closers.append(close)
                workers.append(Worker(f"random-{t}", step))
            c0 = m.counters()
            t0 = time.monotonic()
            for w in workers:
                w.start()
            try:
                log = kill_cycles(m, a, workers, "parallel random")
            finally:
                fails = stop_workers(workers, mount=m)
                for close in closers:
                    close()
            d = m.counters() - c0
            STATS.notes.append(f"rdma faults [4 random readers, {KILLS} x kill -9]: "
                               f"{sum(w.steps for w in workers)} preads / "
                               f"{sum(w.bytes for w in workers) / MiB:.0f} MiB in {time.monotonic() - t0:.1f}s; {d}")
            STATS.notes += [f"  {x}" for x in log]
            assert not fails, "\n".join(fails[:20]) + "\n" + diag(m, a)
            assert d.fallback_total > 0 and d.http > 0 and d.rdma > 0, str(d)
            # and a final full pass of every file is exact
            bad = verify_sequential([(m.p(p), p, fresh_blob(files[p])) for p in paths], cluster)
            assert not bad, format_mismatches(bad)
    finally:
        a.stop()


# ---------------------------------------------------------------------------------------------
# an agent that has none of the volumes
# ---------------------------------------------------------------------------------------------

def test_agent_on_empty_dir_all_http(cluster, files):
    empty = cluster.dir / "empty-voldir"
    empty.mkdir(exist_ok=True)
    a = new_agent(cluster, "agent-empty", dirs=empty)
    try:
        a.start()
        with RdmaMount(cluster, {volume_server_key(cluster): a.address}, name="rdma-empty") as m:
            c0 = m.counters()
            sel = [f"{ROOT}/m24", f"{ROOT}/m9", f"{ROOT}/f0", f"{ROOT}/f1"]
            bad = verify_sequential([(m.p(p), p, fresh_blob(files[p])) for p in sel], cluster)
            d = m.counters() - c0
            reqs = {k: v for k, v in a.metrics().items() if k[0] == "seaweed_agent_requests_total"}
            STATS.notes.append(f"rdma faults [agent on an empty dir]: {d}; agent requests "
                               + ", ".join(f"{dict(k[1]).get('result')}={int(v)}" for k, v in reqs.items()))
            assert not bad, format_mismatches(bad) + "\n" + diag(m, a)
            assert d.rdma == 0, f"an agent without volumes served bytes: {d}"
            assert d.http >= sum(files[p].size for p in sel), str(d)
            assert d.fallbacks.get("miss", 0) > 0, f"misses not counted: {d}"
    finally:
        a.stop()


def test_agent_on_corrupted_copy_never_serves_wrong_bytes(cluster, files):
    """The agent pointed at the wrong files for the right volume ids: a copy of the volume dir with
    one byte flipped every 64 KiB of each .dat. Its CRC/header checks must refuse those needles;
    the mount falls back and stays byte-exact."""
    src = cluster.dir / "data"
    wrong = cluster.dir / "corrupt-copy"
    wrong.mkdir(exist_ok=True)
    flipped = 0
    for f in sorted(src.iterdir()):
        if f.suffix in (".dat", ".idx", ".vif") and f.is_file():
            shutil.copyfile(f, wrong / f.name)
    for dat in wrong.glob("*.dat"):
        with open(dat, "r+b") as fh:
            size = dat.stat().st_size
            for off in range(65536 + 4321, size, 65536):
                fh.seek(off)
                b = fh.read(1)
                fh.seek(off)
                fh.write(bytes([b[0] ^ 0xFF]))
                flipped += 1
    a = new_agent(cluster, "agent-corrupt", dirs=wrong)
    try:
        a.start()
        with RdmaMount(cluster, {volume_server_key(cluster): a.address}, name="rdma-corrupt") as m:
            c0 = m.counters()
            sel = [f"{ROOT}/m24", f"{ROOT}/m9", f"{ROOT}/f2", f"{ROOT}/f3"]
            bad = verify_sequential([(m.p(p), p, fresh_blob(files[p])) for p in sel], cluster)
            d = m.counters() - c0
            results = by_result(a)
            STATS.notes.append(f"rdma faults [agent on a corrupted copy, {flipped} bytes flipped]: {d}; agent "
                               "requests " + ", ".join(f"{k}={int(v)}" for k, v in results.items() if v))
            assert not bad, format_mismatches(bad) + "\n" + diag(m, a)
            assert d.fallback_total > 0, f"no fallback counted: {d}"
            assert sum(v for k, v in results.items() if k not in ("ok",)) > 0, results
    finally:
        a.stop()


def by_result(a: Agent) -> dict[str, float]:
    return {dict(k[1]).get("result", ""): v for k, v in a.metrics().items()
            if k[0] == "seaweed_agent_requests_total"}


# ---------------------------------------------------------------------------------------------
# vacuum while reading
# ---------------------------------------------------------------------------------------------

def _volume_stats(cluster) -> dict[int, dict]:
    r = http_request(cluster.volume_url(0) + "/status", timeout=30)
    out = {}
    for v in r.json().get("Volumes") or []:
        out[int(v["Id"])] = v
    return out


def _vid(fid: str) -> int:
    return int(fid.split(",")[0])


def test_vacuum_during_reads(cluster):
    c = cluster
    keep = {f"{ROOT}/vac/keep{i}": RandomBlob(6000 + i, 2 * MiB + 1000 * i) for i in range(8)}
    for p, b in keep.items():
        c.put(p, b, maxMB=1)
    junk = {f"{ROOT}/vac/junk{i}": random_bytes(6100 + i, 300000 + i) for i in range(40)}
    for p, b in junk.items():
        c.put(p, b)
    keep_vids = {_vid(ch["file_id"]) for p in keep for ch in c.chunks_of(p)}
    junk_vids = {_vid(ch["file_id"]) for p in junk for ch in c.chunks_of(p)}
    a = new_agent(cluster, "agent-vac")

    def revisions():
        return {v["id"]: v["compactionRevision"] for v in a.sidecar("/stats").json()["volumes"]}

    try:
        a.start()
        rev0 = revisions()
        with RdmaMount(c, {volume_server_key(c): a.address}, args=SMALL_CACHE, name="rdma-vac") as m:
            items = [(p, fresh_blob(b)) for p, b in keep.items()]

            def one_pass():
                n = 0
                for p, b in items:
                    n += check_whole_file(m.p(p), b)[0]
                return n
            w = Worker("vacuum-reader", one_pass)
            c0 = m.counters()
            w.start()
            try:
                # garbage: overwrite half of the junk (new needles, old ones deleted) and delete the rest
                new_junk = {}
                for i, p in enumerate(sorted(junk)):
                    if i % 2:
                        new_junk[p] = random_bytes(6200 + i, 200000 + i)
                        c.put(p, new_junk[p])
                    else:
                        c.delete(p)
                wait_until("deletions to reach the volume server",
                           lambda: sum(v.get("DeletedByteCount", 0) for v in _volume_stats(c).values()) > 0, 60)
                garbage_vids = {vid for vid, v in _volume_stats(c).items() if v.get("DeletedByteCount", 0) > 0}
                t = time.monotonic()
                r = http_request(c.master_url + "/vol/vacuum?garbageThreshold=0.0001", timeout=300)
                assert r.status == 200, r.body[:300]
                vac_s = time.monotonic() - t
                compacted = wait_until(
                    "the agent to load the compacted volumes",
                    lambda: {vid for vid, rv in revisions().items()
                             if vid in garbage_vids and rv != rev0.get(vid)} == garbage_vids and garbage_vids, 60,
                    diag=lambda: f"revisions before {rev0}, now {revisions()}, garbage volumes {garbage_vids}\n"
                                 + a.log(30))
                base = m.counters()
                wait_until("rdma reads after the vacuum", lambda: (m.counters() - base).rdma >= 4 * MiB, 60,
                           diag=lambda: diag(m, a))
                if w.steps < 2:
                    done = w.steps
                    wait_until("one more full pass after the vacuum", lambda: w.steps >= done + 1, 120)
            finally:
                fails = stop_workers([w], timeout=300, mount=m)
            d = m.counters() - c0
            # the overwritten junk reads as its new content, the deleted junk is gone
            bad = verify_sequential([(m.p(p), p, BytesBlob(b)) for p, b in new_junk.items()], c)
            gone = [p for p in junk if p not in new_junk and os.path.exists(m.p(p))]
            STATS.notes.append(
                f"rdma faults [vacuum]: volumes with keep files {sorted(keep_vids)}, junk in {sorted(junk_vids)}, "
                f"compacted {sorted(compacted)} (vacuum call {vac_s:.1f}s); {w.steps} passes over "
                f"{len(keep)} files during it; {d}")
            assert not fails, "\n".join(fails[:20]) + "\n" + diag(m, a)
            assert not bad, format_mismatches(bad)
            assert not gone, f"deleted files still visible: {gone[:5]}"
            assert compacted & keep_vids, (f"no volume holding the files being read was compacted "
                                           f"(keep {keep_vids}, compacted {compacted})")
            assert d.rdma > 0, str(d)
    finally:
        a.stop()


# ---------------------------------------------------------------------------------------------
# appends and deletes while the agent runs
# ---------------------------------------------------------------------------------------------

def test_appends_and_deletes_while_agent_runs(cluster):
    c = cluster
    path = f"{ROOT}/app/a1"
    e = Expected(random_bytes(7000, MiB + MiB // 2))
    c.put(path, bytes(e.buf), maxMB=1)
    doomed_closed = f"{ROOT}/app/doomed-closed"
    doomed_open = f"{ROOT}/app/doomed-open"
    dc = random_bytes(7100, 3 * MiB + 1)
    do = random_bytes(7101, 3 * MiB + 2)
    c.put(doomed_closed, dc, maxMB=1)
    c.put(doomed_open, do, maxMB=1)
    a = new_agent(cluster, "agent-app")
    try:
        a.start()
        with RdmaMount(c, {volume_server_key(c): a.address}, name="rdma-app") as m:
            mp = m.p(path)
            assert mp.read_bytes() == bytes(e.buf)
            rounds = []
            for i, n in enumerate((1, 700001, 2 * MiB + 3)):
                w = random_bytes(7001 + i, n)
                before = m.counters()
                c.put(path, w, op="append", maxMB=1)
                e.append(w)
                want = bytes(e.buf)
                wait_until(f"append {i + 1}: size {len(want)} on the mount",
                           lambda: os.stat(mp).st_size == len(want), 30,
                           diag=lambda: f"st_size {os.stat(mp).st_size}\n{m.log(20)}")
                got = mp.read_bytes()
                if got != want:
                    d = first_difference(got, want)
                    raise AssertionError(f"append {i + 1}: {path} differs at offset {d} (size {len(got)} vs "
                                         f"{len(want)}): got {got[d:d + 16].hex()} expected {want[d:d + 16].hex()}; "
                                         f"{c.describe_offset(path, d)}\n{diag(m, a)}")
                delta = m.counters() - before
                rounds.append(f"append {i + 1} (+{n} B): {delta}")
            # deletes: one file closed (must vanish), one held open (exact bytes or an error, never wrong)
            assert m.p(doomed_closed).read_bytes() == dc
            fd = open_direct(m.p(doomed_open))
            buf = mmap.mmap(-1, MiB)
            try:
                assert pread_exact(fd, buf, 0, 4096) == do[:4096]
                assert c.delete(doomed_closed) in (200, 202, 204)
                assert c.delete(doomed_open) in (200, 202, 204)
                wait_until(f"{doomed_closed} to disappear from the mount",
                           lambda: not os.path.exists(m.p(doomed_closed)), 30)
                # reading on through the open fd: the volume server answers 404 for the deleted
                # needles, the agent would still serve them (readDeleted semantics), and the kernel
                # revalidates attributes on read (the mount then says ENOENT). Any error is
                # acceptable here; wrong bytes are not.
                outcome = []
                off = 4096
                while off < len(do):
                    try:
                        b = pread_exact(fd, buf, off, MiB)
                    except OSError as ex:
                        outcome.append(f"{errno_name(ex.errno)} at {off}")
                        off += MiB
                        continue
                    if not b:
                        break
                    assert b == do[off:off + len(b)], (f"{doomed_open}: wrong bytes at {off + first_difference(b, do[off:off + len(b)])} "
                                                       f"after the delete\n{diag(m, a)}")
                    off += len(b)
                open_result = "exact bytes" if not outcome else "errors: " + ", ".join(outcome)
            finally:
                os.close(fd)
                buf.close()
            # a file written after all this is served too
            late = random_bytes(7200, 2 * MiB + 9)
            c.put(f"{ROOT}/app/late", late, maxMB=1)
            wait_until("late file on the mount", lambda: os.path.exists(m.p(f"{ROOT}/app/late")), 30)
            before = m.counters()
            assert m.p(f"{ROOT}/app/late").read_bytes() == late
            late_d = m.counters() - before
            STATS.notes.append("rdma faults [append/delete]: " + "; ".join(rounds) +
                               f"; open fd of a deleted file read on: {open_result}; new file after: {late_d}")
            assert late_d.rdma > 0 or late_d.fallbacks.get("miss", 0) > 0, str(late_d)
    finally:
        a.stop()


# ---------------------------------------------------------------------------------------------
# -rdma.fallback=false: EIO, bounded by -rdma.timeoutMs
# ---------------------------------------------------------------------------------------------

_DIRECT_READ = r"""
import mmap, os, sys
p, off, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    fd = os.open(p, os.O_RDONLY | os.O_DIRECT)
except OSError:
    fd = os.open(p, os.O_RDONLY)
buf = mmap.mmap(-1, n)
try:
    k = os.preadv(fd, [buf], off)
except OSError as e:
    sys.stderr.write(f"{e.errno} {e.strerror}"); sys.exit(3)
sys.stdout.buffer.write(buf[:k])
"""


def direct_read(path, off: int, n: int, timeout: float = 120) -> tuple[int, bytes | str, float]:
    """O_DIRECT pread in a child process (a hung read must not hang the runner): (errno or 0 or -1
    for timeout, data or message, seconds)."""
    t = time.monotonic()
    try:
        r = subprocess.run([sys.executable, "-c", _DIRECT_READ, str(path), str(off), str(n)],
                           capture_output=True, timeout=timeout, start_new_session=True)
    except subprocess.TimeoutExpired:
        return -1, f"no answer in {timeout}s", time.monotonic() - t
    dt = time.monotonic() - t
    if r.returncode == 3:
        e, _, msg = r.stderr.decode().partition(" ")
        return int(e), msg, dt
    if r.returncode:
        return -2, r.stderr.decode(errors="replace")[-500:], dt
    return 0, r.stdout, dt


def test_no_fallback_gives_eio_not_hang(cluster, files):
    """-rdma.fallback=false: with the agent killed every read fails with EIO within a few seconds
    (none goes over HTTP); with the agent frozen (SIGSTOP) a read fails after about
    -rdma.timeoutMs; after a restart reads work again. All phases run, then all problems are
    reported together."""
    timeout_ms = 1500
    bound = 15.0
    a = new_agent(cluster, "agent-nofb")
    log, problems = [], []

    def attempt(label, p, off, want_eio=True, min_s=0.0):
        err, out, dt = direct_read(m.p(p), off, MiB, timeout=120)
        what = "ok" if err == 0 else errno_name(err) if err > 0 else out
        log.append(f"{label} ({p}@{off}): {what} in {dt:.2f}s")
        if want_eio and err != errno.EIO:
            problems.append(f"{label}: read of {p} at {off}: "
                            f"{'succeeded' if err == 0 else what} after {dt:.2f}s, expected EIO")
        elif want_eio and not (min_s <= dt < bound):
            problems.append(f"{label}: EIO after {dt:.2f}s, expected within [{min_s:.1f}, {bound:.0f})s")
        return err, out

    try:
        a.start()
        with RdmaMount(cluster, {volume_server_key(cluster): a.address},
                       args=SMALL_CACHE + ["-rdma.fallback=false", f"-rdma.timeoutMs={timeout_ms}",
                                           "-prefetchBlocks=0"], name="rdma-nofb") as m:
            f = {i: (f"{ROOT}/f{i}", files[f"{ROOT}/f{i}"]) for i in range(6)}
            p0, b0 = f[0]
            bad = verify_sequential([(m.p(p0), p0, fresh_blob(b0))], cluster)
            assert not bad, format_mismatches(bad)
            c0 = m.counters()
            assert c0.http == 0 and c0.rdma >= b0.size, f"expected everything over the agent: {c0}"

            # 1. agent killed: every read fails with EIO quickly, nothing goes over HTTP
            a.kill9()
            for i, (k, off) in enumerate(((1, 0), (2, MiB), (3, 2 * MiB), (1, 3 * MiB))):
                attempt(f"agent killed, read {i + 1}", f[k][0], off)
            d = m.counters() - c0
            log.append(f"after phase 1: {d}")
            if d.http:
                problems.append(f"phase 1: -rdma.fallback=false but {int(d.http)} bytes went over HTTP ({d})")

            # 2. agent back: reads work again (after the mount's backoff)
            a.start()
            p, b = f[4]
            t = time.monotonic()

            def works():  # exact bytes, and they came over the agent
                before = m.counters()
                err, out, _ = direct_read(m.p(p), 0, MiB, timeout=60)
                return err == 0 and out == b.read(0, MiB) and (m.counters() - before).rdma >= MiB
            wait_until("reads through the restarted agent", works, 60, interval=0.3, diag=lambda: diag(m, a))
            log.append(f"agent restarted: reads work again after {time.monotonic() - t:.2f}s")

            # 3. agent frozen (SIGSTOP): EIO after about -rdma.timeoutMs, not a hang
            c3 = m.counters()
            a.signal(signal.SIGSTOP)
            try:
                attempt("agent frozen, read 1", f[5][0], MiB, min_s=timeout_ms / 1000 * 0.8)
                attempt("agent frozen, read 2", f[5][0], 2 * MiB)
            finally:
                a.signal(signal.SIGCONT)
            d3 = m.counters() - c3
            log.append(f"after phase 3: {d3}")
            if d3.http:
                problems.append(f"phase 3: -rdma.fallback=false but {int(d3.http)} bytes went over HTTP ({d3})")
            if problems:
                problems.append(diag(m, a))
        STATS.notes.append("rdma faults [-rdma.fallback=false]: " + "; ".join(log))
        assert not problems, "\n".join(problems) + "\n--- sequence ---\n" + "\n".join(log)
    finally:
        with contextlib.suppress(Exception):
            a.signal(signal.SIGCONT)
        a.stop()

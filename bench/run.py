#!/usr/bin/env python3
"""Read benchmark of seaweed-rdma-mount against weed mount, plain HTTP and the FUSE ceiling.

One command starts a throw-away SeaweedFS cluster (integration/harness), the RDMA agent when it
exists, uploads the data sets, and runs every workload on every target:

  targets   ours_rdma     seaweed-rdma-mount -rdma.agents=VOLSERVER=AGENT (reads over UCX)
            ours_http     seaweed-rdma-mount -rdma.enabled=false
            weed_default  weed mount (same weed binary as the cluster), defaults
            weed_tuned    weed mount with read-side tuning (see WEED_TUNED_ARGS)
            curl          direct HTTP GETs of the chunks from the volume server (filer for listings)
            nullfs        bench/nullfs: READ replies from a preallocated buffer (the FUSE ceiling)
            agent         seaweed-rdma-agent read, one process per chunk (optional)
  workloads seq1          1 reader, sequential, whole file (1 GiB), cold
            seq4          4 readers, 4 files of 1/4 the size each, in parallel, cold
            rand4k        4 KiB random preads with O_DIRECT, QD1 (p50/p99/p99.9, IOPS)
            small         read 5,000 files of 16 KiB (files/s)
            ls            ls -lR of a 20,000-entry directory (seconds)

Every run of a mount target uses a fresh mount. Before each sequential run the page cache is
dropped (echo 3 > /proc/sys/vm/drop_caches), so the volume server reads its .dat files from disk
too. Each measurement is repeated --repeat times (default 3, tiny 1); the JSON keeps the raw samples
and the medians, ratios between targets, machine info and versions; a PNG plots the medians.

  .venv/bin/python bench/run.py                   # full size, < ~20 min
  .venv/bin/python bench/run.py --size tiny       # < ~2 min
  .venv/bin/python bench/run.py --targets ours_http,nullfs --workloads seq1 --repeat 1
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# grpcio's fork handlers can abort a child between fork and exec (seen as "epoll_wait error: Bad file
# descriptor" and rc -6 from weed mount): the bench forks many processes, so turn them off before grpc
# is imported, and close the channel once the uploads are done.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
sys.path.insert(0, str(REPO / "integration"))
import harness as H  # noqa: E402

MiB = 1 << 20
GiB = 1 << 30
SCHEMA = "seaweed-rdma-bench/1"

SIZES = {
    "full": dict(seq_bytes=GiB, small_files=5000, small_size=16 << 10, ls_entries=20000,
                 repeat=3, rand_seconds=8.0, curl_rand_ops=5000, chunk_mb=4),
    "tiny": dict(seq_bytes=16 * MiB, small_files=100, small_size=16 << 10, ls_entries=200,
                 repeat=1, rand_seconds=1.0, curl_rand_ops=200, chunk_mb=4),
}

LS_CONTENT = b"x" * 64
AGENT_SMALL_FILES = 500  # the agent CLI target reads only this many of the small files  # inline content of each entry of the listing directory

# weed mount read-side tuning. Chosen by trying, with a 1 GiB file and the server cache warm (n=3 each,
# MB/s 1 reader / 4 readers, on top of bdi read_ahead_kb=1024): nothing else 520-630 / 390-640;
# -cacheCapacityMB=0 600-1000 / 970-1045; -concurrentReaders=256 -readerCacheSizeMB=1024 630-680 / 350-415;
# both 700-775 / 690-750; -fuse.maxBackground=256 -readerCacheSizeMB=1024 690-750 / 700-860; -asyncDio
# 490-730 / 540-640 and much worse 4 KiB random latency; -cacheCapacityMB=1024 370-390 / 260-350.
WEED_TUNED_ARGS = ["-cacheCapacityMB=0"]
WEED_TUNED_READAHEAD_KB = 1024
WEED_TUNED_NOTES = (
    "bdi read_ahead_kb=1024 set by the bench after mounting (1 MiB FUSE READs instead of 128 KiB; "
    "seaweed-rdma-mount does the same itself via -readAheadKB=1024) and -cacheCapacityMB=0 (no chunk "
    "cache: one-shot cold reads gain nothing from copying chunks into the cache, and it was the only flag "
    "that helped). Tried and rejected (no gain or slower within noise): -concurrentReaders=256, "
    "-readerCacheSizeMB=1024, -fuse.maxBackground=256, -asyncDio (slower, and p50 4 KiB latency "
    "x1.5-25), -cacheCapacityMB=1024 (slower). -concurrentReaders already gives the maximum prefetch "
    "(8 chunks) at its default 128. -chunkSizeLimitMB only affects writes and is left at 2.")

WORKLOADS = {
    "seq1": dict(title="1 reader, sequential", unit="MB/s", primary="mb_s", higher_better=True,
                 description="dd bs=1M of one file (seq_bytes) after drop_caches, fresh mount"),
    "seq4": dict(title="4 readers, sequential", unit="MB/s", primary="mb_s", higher_better=True,
                 description="4 dd bs=1M in parallel, 4 files of seq_bytes/4, after drop_caches, fresh mount"),
    "seq1_warm": dict(title="1 reader, sequential, server cache warm", unit="MB/s", primary="mb_s",
                      higher_better=True,
                      description="as seq1 (fresh mount, client cold) but the volume .dat files are in the "
                                  "page cache: isolates the client path from the server's disk"),
    "seq4_warm": dict(title="4 readers, sequential, server cache warm", unit="MB/s", primary="mb_s",
                      higher_better=True,
                      description="as seq4 but the volume .dat files are in the page cache"),
    "rand4k": dict(title="4 KiB random O_DIRECT, QD1", unit="IOPS", primary="iops", higher_better=True,
                   description="seaweed-randread: pread 4 KiB at random aligned offsets of the seq file, "
                               "O_DIRECT, 1 thread, time-based; fresh mount, server page cache warm"),
    "small": dict(title="small files (16 KiB)", unit="files/s", primary="files_s", higher_better=True,
                  description="open+read+close each of small_files files of 16 KiB in one process; "
                              "fresh mount (cold metadata and data), server page cache warm"),
    "ls": dict(title="ls -lR big dir", unit="s", primary="seconds", higher_better=False,
               description="ls -lR of a directory with ls_entries entries; fresh mount"),
    "stream10g": dict(title="streaming 10x the seq file, peak daemon RSS", unit="MiB",
                      primary="client_peak_rss_mib", higher_better=False,
                      description="dd bs=1M iflag=direct over the seq file STREAM_PASSES times in one fresh "
                                  "mount (O_DIRECT: every byte passes through the daemon, 10 GiB at full "
                                  "size); the client daemon's VmHWM afterwards; server page cache warm"),
}

SEQ = ("seq1", "seq4", "seq1_warm", "seq4_warm")
COLD = ("seq1", "seq4")  # drop_caches before each run; every other workload warms the server first


def base(w: str) -> str:
    """seq1_warm -> seq1: the reading pattern of a workload."""
    return w.split("_", 1)[0]


TARGET_DESCRIPTIONS = {
    "ours_rdma": "seaweed-rdma-mount, reads via seaweed-rdma-agent (UCX)",
    "ours_rdma_cma": "seaweed-rdma-mount + a second agent, both with UCX peer error handling off "
                     "(-rdma.peerErrorHandling=false): UCX 1.13 then uses cma on one host, the mount pulls "
                     "the bytes from the agent's mapped .dat itself (one-sided, as RDMA READ would)",
    "ours_http": "seaweed-rdma-mount, -rdma.enabled=false (HTTP to the volume server)",
    "weed_default": "weed mount, default flags",
    "weed_tuned": "weed mount, read-side tuning",
    "curl": "curl GETs of the chunks from the volume server (keep-alive); filer JSON listing for ls",
    "nullfs": "seaweed-nullfs: FUSE ceiling (fuse_reply_buf from a preallocated buffer)",
    "agent": "seaweed-rdma-agent read CLI, one process per chunk",
}
ALL_TARGETS = list(TARGET_DESCRIPTIONS)
OURS = ("ours_rdma", "ours_rdma_cma", "ours_http")
AGENT_TARGETS = ("ours_rdma", "ours_rdma_cma")
STREAM_PASSES = 10  # stream10g: passes over the seq file (10 x 1 GiB at full size)
OUR_FIXED_OVERHEAD_MIB = 64  # what the memory goal allows beyond -cacheCapacityMB + -prefetchMB
OUR_CACHE_MB, OUR_PREFETCH_MB = 128, 64  # seaweed-rdma-mount's defaults (the bench passes neither)


# --------------------------------------------------------------------------------------------
# small utilities
# --------------------------------------------------------------------------------------------

T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f}s] {msg}", flush=True)


def sh(cmd: list[str], timeout: float = 30) -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return (r.stdout + r.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"<{e}>"


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> float | None:
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
    except (OSError, IndexError, ValueError):
        return None


def proc_status_kb(pid: int | None, key: str) -> int | None:
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss(pid: int | None) -> None:
    """Resets VmHWM of a long-lived daemon (Linux >= 4.0, writing 5 to clear_refs)."""
    if pid:
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")


def drop_caches() -> bool:
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3")
        return True
    except OSError:
        return False


def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies over all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        v = [float(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


class BusyMeter:
    """Fraction of all CPUs busy between start() and stop(): shows how much the machine was loaded
    (by the benchmark itself and by anything else running at the same time)."""

    def __init__(self):
        self.b0, self.t0 = cpu_times()
        self.busy_s = 0.0

    def stop(self) -> float:
        b1, t1 = cpu_times()
        self.busy_s = (b1 - self.b0) / CLK_TCK
        return (b1 - self.b0) / (t1 - self.t0) if t1 > self.t0 else 0.0


def wait_idle(max_seconds: float, threshold: float = 0.25, window: float = 3.0) -> float:
    """Waits (up to max_seconds) until the machine is less than `threshold` busy over `window` s.
    Returns the busy fraction of the last window."""
    deadline = time.monotonic() + max_seconds
    while True:
        m = BusyMeter()
        time.sleep(window)
        busy = m.stop()
        if busy < threshold or time.monotonic() >= deadline:
            return busy
        log(f"machine {busy:.0%} busy (other work running); waiting for it to calm down")


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def note_load(sample: dict, r) -> None:
    """Machine load during the measured run: busy fraction of all CPUs, and CPU seconds used by
    processes other than the ones measured (other engineers' builds, kernel threads, ...)."""
    if r is None:
        return
    sample["machine_busy_frac"] = round(r.busy_frac, 3)
    measured = sum(v for v in (sample.get("cpu_s") or {}).values() if v is not None)
    if "client" not in (sample.get("cpu_s") or {}):
        measured += r.user + r.sys
    sample["other_cpu_s"] = round(max(0.0, r.busy_s - measured), 3)
    sample["contended"] = contended(sample)


def contended(sample: dict) -> bool:
    """Other processes (or kernel threads) used more than 1/8 of the machine during the run."""
    o = sample.get("other_cpu_s")
    return o is not None and o > max(0.05, 0.25 * (sample.get("wall_s") or 0))


# --------------------------------------------------------------------------------------------
# running client programs with wall time and rusage
# --------------------------------------------------------------------------------------------


class ClientResult:
    def __init__(self):
        self.wall = 0.0
        self.rc: list[int] = []
        self.user = 0.0
        self.sys = 0.0
        self.maxrss_kb = 0
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.timed_out = False
        self.busy_frac = 0.0   # all CPUs, during the run
        self.busy_s = 0.0

    @property
    def ok(self) -> bool:
        return not self.timed_out and all(r == 0 for r in self.rc)

    def error(self) -> str:
        if self.timed_out:
            return "timeout"
        return "; ".join(f"rc={r}: {e.strip()[-400:]}" for r, e in zip(self.rc, self.stderr) if r != 0)


def run_clients(argvs: list[list[str]], timeout: float, on_timeout=None, cwd: str | None = None) -> ClientResult:
    """Starts all argvs at once, waits for all; wall = start of the first to end of the last.
    CPU (user+sys) and max RSS of the clients come from wait4. On timeout, on_timeout() runs first
    (it unmounts, which fails the blocked reads), then the clients are SIGKILLed."""
    res = ClientResult()
    tmp = tempfile.mkdtemp(prefix="bench-client-")
    procs, files = [], []
    ends: list[float] = [0.0] * len(argvs)
    infos: list[tuple | None] = [None] * len(argvs)
    meter = BusyMeter()
    try:
        start = time.monotonic()
        for i, argv in enumerate(argvs):
            out = open(os.path.join(tmp, f"{i}.out"), "w+b")
            err = open(os.path.join(tmp, f"{i}.err"), "w+b")
            files.append((out, err))
            procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                          start_new_session=True, cwd=cwd))

        def waiter(i, p):
            _, status, ru = os.wait4(p.pid, 0)
            ends[i] = time.monotonic()
            infos[i] = (os.waitstatus_to_exitcode(status), ru)
            p.returncode = infos[i][0]

        threads = [threading.Thread(target=waiter, args=(i, p), daemon=True) for i, p in enumerate(procs)]
        for t in threads:
            t.start()
        deadline = start + timeout
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in threads):
            res.timed_out = True
            if on_timeout:
                with contextlib.suppress(Exception):
                    on_timeout()
            for p in procs:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(p.pid, signal.SIGKILL)
            for t in threads:
                t.join(30)
        res.wall = max(ends) - start if all(ends) else time.monotonic() - start
        res.busy_frac = meter.stop()
        res.busy_s = meter.busy_s
        for i, (out, err) in enumerate(files):
            out.seek(0)
            err.seek(0)
            res.stdout.append(out.read().decode("utf-8", "replace"))
            res.stderr.append(err.read().decode("utf-8", "replace"))
            if infos[i]:
                rc, ru = infos[i]
                res.rc.append(rc)
                res.user += ru.ru_utime
                res.sys += ru.ru_stime
                res.maxrss_kb = max(res.maxrss_kb, ru.ru_maxrss)
            else:
                res.rc.append(-9)
        return res
    finally:
        for out, err in files:
            out.close()
            err.close()
        shutil.rmtree(tmp, ignore_errors=True)


DD_BYTES = re.compile(r"^(\d+) bytes", re.M)


def dd_bytes(stderr: str) -> int:
    m = DD_BYTES.findall(stderr)
    return int(m[-1]) if m else -1


SMALL_READER = r"""
import json, os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
names = [f"f{i:06d}" for i in range(n)]
t = time.monotonic(); total = 0
for name in names:
    fd = os.open(os.path.join(d, name), os.O_RDONLY)
    try:
        while True:
            b = os.read(fd, 1 << 20)
            if not b: break
            total += len(b)
    finally:
        os.close(fd)
print(json.dumps({"files": n, "bytes": total, "seconds": time.monotonic() - t}))
"""


# --------------------------------------------------------------------------------------------
# the data sets
# --------------------------------------------------------------------------------------------


class DataSet:
    """What is uploaded under /bench on the filer (and mirrored by nullfs):
       /bench/seq/f000000               seq_bytes, random bytes
       /bench/par/f000000..f000003      4 x seq_bytes/4
       /bench/small/f000000..           small_files x small_size
       /bench/ls/f000000..              ls_entries entries with 64 bytes of inline content"""

    ROOT = "/bench"

    def __init__(self, p: dict):
        self.p = p
        self.seq_size = p["seq_bytes"]
        self.par_size = p["seq_bytes"] // 4
        self.seq_blob = H.RandomBlob(101, self.seq_size)
        self.par_blobs = [H.RandomBlob(200 + i, self.par_size) for i in range(4)]
        self.small_chunks: list[str] = []     # fid per small file
        self.seq_chunks: list[dict] = []      # {fid, offset, size}
        self.par_chunks: list[list[dict]] = []
        self.upload_seconds: dict[str, float] = {}

    @staticmethod
    def name(i: int) -> str:
        return f"f{i:06d}"

    def nullfs_sets(self) -> list[str]:
        p = self.p
        return [f"seq:1:{self.seq_size}", f"par:4:{self.par_size}",
                f"small:{p['small_files']}:{p['small_size']}", f"ls:{p['ls_entries']}:{len(LS_CONTENT)}"]

    def upload(self, c: H.Cluster) -> None:
        p = self.p
        chunk_mb = p["chunk_mb"]
        g = c.grpc
        for d in ("seq", "par", "small", "ls"):
            g.mkdirs(f"{self.ROOT}/{d}")

        t = time.monotonic()
        jobs = [(f"{self.ROOT}/seq/{self.name(0)}", self.seq_blob)]
        jobs += [(f"{self.ROOT}/par/{self.name(i)}", b) for i, b in enumerate(self.par_blobs)]
        with ThreadPoolExecutor(2) as ex:
            list(ex.map(lambda j: c.put(j[0], j[1], maxMB=chunk_mb), jobs))
        self.upload_seconds["large"] = time.monotonic() - t
        log(f"uploaded {self.seq_size + 4 * self.par_size} bytes in 5 large files "
            f"({chunk_mb} MiB chunks) in {self.upload_seconds['large']:.1f}s")

        # small files: filer PUT over keep-alive connections, one per worker thread
        t = time.monotonic()
        local = threading.local()
        host, port = "127.0.0.1", c.filer_port

        def put_small(i: int) -> None:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = http.client.HTTPConnection(host, port, timeout=60)
            body = H.random_bytes(10_000 + i, p["small_size"])
            for attempt in range(3):
                try:
                    conn.request("PUT", f"{self.ROOT}/small/{self.name(i)}", body=body,
                                 headers={"Content-Type": "application/octet-stream"})
                    r = conn.getresponse()
                    r.read()
                    if r.status in (200, 201):
                        return
                    raise H.HarnessError(f"PUT small {i}: HTTP {r.status}")
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = local.conn = http.client.HTTPConnection(host, port, timeout=60)
                    if attempt == 2:
                        raise

        with ThreadPoolExecutor(8) as ex:
            list(ex.map(put_small, range(p["small_files"])))
        self.upload_seconds["small"] = time.monotonic() - t
        log(f"uploaded {p['small_files']} x {p['small_size']} B files in {self.upload_seconds['small']:.1f}s")

        # listing directory: gRPC CreateEntry with inline content, 8 threads on one channel
        t = time.monotonic()
        pb = g.pb
        now = int(time.time())

        def mk(i: int) -> None:
            e = pb.Entry(name=self.name(i), content=LS_CONTENT,
                         attributes=g.attrs(0o644, size=len(LS_CONTENT), mtime=now))
            g.create_entry(f"{self.ROOT}/ls", e, skip_parent=True)

        with ThreadPoolExecutor(8) as ex:
            list(ex.map(mk, range(p["ls_entries"])))
        self.upload_seconds["ls"] = time.monotonic() - t
        log(f"created {p['ls_entries']} entries (gRPC CreateEntry) in {self.upload_seconds['ls']:.1f}s")

        # chunk lists for the direct HTTP / agent targets
        def chunks(path):
            e = g.lookup_path(path)
            return sorted(({"fid": ch.file_id, "offset": ch.offset, "size": ch.size} for ch in e.chunks),
                          key=lambda x: x["offset"])
        self.seq_chunks = chunks(f"{self.ROOT}/seq/{self.name(0)}")
        self.par_chunks = [chunks(f"{self.ROOT}/par/{self.name(i)}") for i in range(4)]
        small = {e.name: e for e in g.list(f"{self.ROOT}/small")}
        self.small_chunks = []
        for i in range(p["small_files"]):
            e = small[self.name(i)]
            if len(e.chunks) != 1:
                raise H.HarnessError(f"small file {i}: expected 1 chunk, got {len(e.chunks)} "
                                     f"(inline content? {len(e.content)} bytes)")
            self.small_chunks.append(e.chunks[0].file_id)
        # no gRPC threads while the benchmark forks processes (see GRPC_ENABLE_FORK_SUPPORT above)
        with contextlib.suppress(Exception):
            c._grpc.close()
        c._grpc = None
        log(f"data set ready: seq {len(self.seq_chunks)} chunks, par {[len(x) for x in self.par_chunks]} "
            f"chunks, small {len(self.small_chunks)} fids")


# --------------------------------------------------------------------------------------------
# targets
# --------------------------------------------------------------------------------------------


class WeedMount(H.Mount):
    """`weed mount` on a fresh mountpoint with a fresh -cacheDir (so every run is cold)."""

    def __init__(self, cluster, args, name="weed-mount"):
        super().__init__(cluster, args, binary=H.WEED_BIN, name=name)
        self.cache_dir = None

    def argv(self):
        self.cache_dir = Path(tempfile.mkdtemp(prefix="weedcache-", dir=self.cluster.dir))
        return [H.WEED_BIN, "mount", f"-filer={self.filer}", f"-dir={self.path}",
                f"-cacheDir={self.cache_dir}", f"-localSocket={self.cache_dir}/mount.sock", *self.args]

    def stop(self, *a, **kw):
        rc = super().stop(*a, **kw)
        if self.cache_dir:
            shutil.rmtree(self.cache_dir, ignore_errors=True)
            self.cache_dir = None
        return rc


class NullMount(H.Mount):
    def __init__(self, cluster, binary, sets, extra=(), name="nullfs"):
        super().__init__(cluster, [], binary=binary, name=name)
        self.sets = sets
        self.extra = list(extra)

    def argv(self):
        a = [self.binary]
        for s in self.sets:
            a += ["--set", s]
        return a + self.extra + [str(self.path)]


def set_readahead(path: Path, kb: int) -> str | None:
    try:
        st = os.stat(path)
        p = f"/sys/class/bdi/{os.major(st.st_dev)}:{os.minor(st.st_dev)}/read_ahead_kb"
        with open(p, "w") as f:
            f.write(str(kb))
        return None
    except OSError as e:
        return str(e)


def bdi_readahead(path: Path) -> int | None:
    try:
        st = os.stat(path)
        with open(f"/sys/class/bdi/{os.major(st.st_dev)}:{os.minor(st.st_dev)}/read_ahead_kb") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def scrape_read_bytes(port: int | None) -> dict | None:
    if not port:
        return None
    try:
        r = H.http_request(f"http://127.0.0.1:{port}/metrics", timeout=5)
    except (OSError, http.client.HTTPException):
        return None
    if r.status != 200:
        return None
    out = {}
    for m in re.finditer(r'^seaweed_mount_read_bytes_total\{[^}]*transport="(\w+)"[^}]*\}\s+([0-9.e+]+)',
                         r.body.decode("utf-8", "replace"), re.M):
        out[m.group(1)] = out.get(m.group(1), 0) + float(m.group(2))
    return out


class Bench:
    def __init__(self, args):
        self.args = args
        self.size = args.size
        self.p = dict(SIZES[args.size])
        if args.repeat:
            self.p["repeat"] = args.repeat
        if args.rand_seconds:
            self.p["rand_seconds"] = args.rand_seconds
        self.bin = Path(args.build_dir).resolve() / "bin"
        self.mount_bin = str(self.bin / "seaweed-rdma-mount")
        self.agent_bin = str(self.bin / "seaweed-rdma-agent")
        self.nullfs_bin = str(self.bin / "seaweed-nullfs")
        self.randread_bin = str(self.bin / "seaweed-randread")
        self.cluster: H.Cluster | None = None
        self.agent: H.Proc | None = None
        self.agent_port = None
        self.agent_cma: H.Proc | None = None
        self.agent_cma_port = None
        self.ceilings: dict = {}
        self.agent_metrics_port = None
        self.data = DataSet(self.p)
        self.targets = {}      # name -> {"available": bool, "skipped_reason": .., ...}
        self.results = {w: {} for w in WORKLOADS}
        self.skipped = []
        self.notes = []
        self.waited = 0.0
        self.started = dt.datetime.now(dt.timezone.utc)
        self.loadavg_start = self.loadavg()

    @staticmethod
    def loadavg():
        with contextlib.suppress(OSError):
            return open("/proc/loadavg").read().split()[:3]
        return None

    # -- availability -------------------------------------------------------------------------
    def has_flag(self, flag: str) -> bool:
        return os.access(self.mount_bin, os.X_OK) and H.binary_has_flag(self.mount_bin, flag)

    def check_targets(self, wanted: list[str]) -> None:
        for t in ALL_TARGETS:
            info = {"description": TARGET_DESCRIPTIONS[t], "available": False, "skipped_reason": None}
            self.targets[t] = info
            if t not in wanted:
                info["skipped_reason"] = "not selected (--targets)"
                continue
            reason = None
            if t in OURS and not os.access(self.mount_bin, os.X_OK):
                reason = f"mount binary {self.mount_bin} missing"
            elif t in AGENT_TARGETS:
                if t == "ours_rdma_cma" and not self.has_flag("rdma.peerErrorHandling"):
                    reason = "seaweed-rdma-mount has no -rdma.peerErrorHandling"
                elif not self.has_flag("rdma.agents") or not self.has_flag("rdma.enabled"):
                    reason = "seaweed-rdma-mount does not accept -rdma.enabled/-rdma.agents yet"
                elif not os.access(self.agent_bin, os.X_OK):
                    reason = f"agent binary {self.agent_bin} missing (not built yet)"
            elif t == "agent" and not os.access(self.agent_bin, os.X_OK):
                reason = f"agent binary {self.agent_bin} missing (not built yet)"
            elif t == "nullfs" and not os.access(self.nullfs_bin, os.X_OK):
                reason = f"{self.nullfs_bin} missing (build bench/)"
            elif t == "curl" and not shutil.which("curl"):
                reason = "curl not installed"
            elif t.startswith("weed_") and not os.access(H.WEED_BIN, os.X_OK):
                reason = f"weed binary {H.WEED_BIN} missing"
            info["available"] = reason is None
            info["skipped_reason"] = reason
        if not os.access(self.randread_bin, os.X_OK):
            self.notes.append(f"{self.randread_bin} missing: rand4k skipped on mount targets")

    def skip(self, target: str, workload: str, reason: str) -> None:
        self.skipped.append({"target": target, "workload": workload, "reason": reason})
        self.results[workload][target] = {"skipped": reason, "samples": []}
        log(f"{workload:6s} {target:12s} skipped: {reason}")

    # -- cluster + agent ----------------------------------------------------------------------
    def start_cluster(self) -> None:
        log("starting cluster (weed server)")
        self.cluster = H.Cluster(name="bench", volume_size_limit_mb=1024, volume_max=100)
        self.cluster.start()
        log(f"cluster up: filer {self.cluster.filer_addr}, volume {self.cluster.volume_url(0)}, dir {self.cluster.dir}")

    def volume_dir(self) -> Path:
        return self.cluster.dir / "data"

    def start_agent(self) -> None:
        if self.targets["ours_rdma"]["available"] or self.targets["agent"]["available"]:
            self.agent, self.agent_port, self.agent_metrics_port = self._spawn_agent(
                "rdma-agent", [], ("ours_rdma", "agent"))
        if self.targets["ours_rdma_cma"]["available"]:
            self.agent_cma, self.agent_cma_port, _ = self._spawn_agent(
                "rdma-agent-cma", ["-ucx.peerErrorHandling=false"], ("ours_rdma_cma",))

    def _spawn_agent(self, name: str, extra: list[str], users: tuple[str, ...]):
        """Starts an agent beside the volume server; on failure marks its users unavailable."""
        c = self.cluster
        port = H.free_port_pair()
        metrics_port = None
        vol = f"127.0.0.1:{c.volume_ports[0]}"
        argv = [self.agent_bin, f"-dir={self.volume_dir()}", f"-volumeServer={vol}", "-ip=127.0.0.1",
                f"-port={port}", *extra]
        if H.binary_has_flag(self.agent_bin, "metricsPort"):
            metrics_port = H.free_port_pair()
            argv.append(f"-metricsPort={metrics_port}")
        log(f"starting {name}: " + shlex.join(argv))
        proc = c.spawn(name, argv)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not proc.alive():
                break
            if port_open(port):
                return proc, port, metrics_port
            time.sleep(0.1)
        reason = f"{name} did not come up (rc={proc.returncode}): {proc.tail(20)[-600:]}"
        proc.stop()
        for t in users:
            if self.targets[t]["available"]:
                self.targets[t]["available"] = False
                self.targets[t]["skipped_reason"] = reason
        log(reason)
        return None, None, None

    def sync_volumes(self) -> None:
        """Writes back the freshly uploaded volume files so drop_caches can evict them."""
        with contextlib.suppress(Exception):
            subprocess.run(["sync", "-f", str(self.volume_dir())], timeout=120)

    def measure_disk(self) -> None:
        """The cold ceiling: the volume .dat files read straight from disk after drop_caches."""
        if self.size != "full" and not self.args.disk:
            return
        files = sorted(self.volume_dir().glob("*.dat"))
        samples = []
        for rep in range(self.p["repeat"]):
            if not drop_caches():
                self.notes.append("disk ceiling not measured: drop_caches needs root")
                return
            t = time.monotonic()
            total = 0
            for f in files:
                r = subprocess.run(["dd", f"if={f}", "of=/dev/null", "bs=4M"], capture_output=True, text=True,
                                   timeout=300)
                total += dd_bytes(r.stderr)
            mb_s = total / (time.monotonic() - t) / 1e6
            samples.append({"bytes": total, "mb_s": mb_s})
            log(f"disk   ceiling rep {rep + 1}: {mb_s:.0f} MB/s ({total / GiB:.2f} GiB of .dat, dd bs=4M)")
        self.ceilings = {"disk_cold_mb_s": max(x["mb_s"] for x in samples),
                         "disk_cold_median_mb_s": median([x["mb_s"] for x in samples]), "disk_samples": samples,
                         "disk_method": "drop_caches, then dd bs=4M of every volume .dat file in turn (the "
                                        "files that hold all data sets); the best run is the ceiling of "
                                        "seq1/seq4, which read from a cold server. The VM's disk is noisy "
                                        "(its host caches it): runs differ up to 2x"}

    def warm_server(self) -> None:
        """Puts the volume files in the page cache (for the non-sequential workloads)."""
        for f in sorted(self.volume_dir().glob("*.dat")):
            with open(f, "rb", buffering=0) as fh:
                while fh.read(8 * MiB):
                    pass

    # -- mounts ---------------------------------------------------------------------------------
    def make_mount(self, target: str):
        """Returns (mount object, extra info dict); the mount is started."""
        c = self.cluster
        info = {}
        if target in OURS:
            args = ["-filer.path=" + DataSet.ROOT]
            mport = None
            if self.has_flag("metricsPort"):
                mport = H.free_port_pair()
                args.append(f"-metricsPort={mport}")
            if target in AGENT_TARGETS:
                port = self.agent_port if target == "ours_rdma" else self.agent_cma_port
                args += ["-rdma.enabled=true", f"-rdma.agents=127.0.0.1:{c.volume_ports[0]}=127.0.0.1:{port}"]
                if target == "ours_rdma_cma":
                    args.append("-rdma.peerErrorHandling=false")
                m = H.Mount(c, args, binary=self.mount_bin, rdma=True, name=target)
            else:
                if self.has_flag("rdma.enabled"):
                    args.append("-rdma.enabled=false")
                m = H.Mount(c, args, binary=self.mount_bin, rdma=False, name=target)
            info["metrics_port"] = mport
        elif target == "weed_default":
            m = WeedMount(c, ["-filer.path=" + DataSet.ROOT], name=target)
        elif target == "weed_tuned":
            m = WeedMount(c, ["-filer.path=" + DataSet.ROOT, *self.weed_tuned_args()], name=target)
        elif target == "nullfs":
            m = NullMount(c, self.nullfs_bin, self.data.nullfs_sets(), name=target)
        else:
            raise ValueError(target)
        m.start()
        if target == "weed_tuned" and WEED_TUNED_READAHEAD_KB:
            # wait for the mount to answer, then raise the bdi readahead
            err = set_readahead(m.path, WEED_TUNED_READAHEAD_KB)
            if err:
                info["readahead_error"] = err
        info["bdi_read_ahead_kb"] = bdi_readahead(m.path)
        return m, info

    def weed_tuned_args(self) -> list[str]:
        return shlex.split(self.args.weed_tuned_args) if self.args.weed_tuned_args is not None else WEED_TUNED_ARGS

    # -- one measurement on a mount target ----------------------------------------------------
    def daemon_pids(self, target: str, m) -> dict:
        pids = {"client_daemon": m.proc.pid if m and m.proc else None}
        if target != "nullfs":
            pids["weed_server"] = self.cluster.server.pid
        if target == "ours_rdma" and self.agent:
            pids["agent"] = self.agent.pid
        if target == "ours_rdma_cma" and self.agent_cma:
            pids["agent"] = self.agent_cma.pid
        return pids

    def measure_mount(self, target: str, workload: str, rep: int) -> dict:
        p = self.p
        if workload in COLD:
            drop_caches()
        m, info = self.make_mount(target)
        try:
            root = m.path
            # wait until the mount answers (a stat of the root) before starting the clock
            os.stat(root)
            pids = self.daemon_pids(target, m)
            for k, pid in pids.items():
                if k != "client_daemon":
                    reset_peak_rss(pid)
            cpu0 = {k: cpu_seconds(pid) for k, pid in pids.items()}
            met0 = scrape_read_bytes(info.get("metrics_port"))
            sample = {"rep": rep}
            timeout = 600 if self.size == "full" else 120

            if base(workload) == "seq1":
                f = root / "seq" / DataSet.name(0)
                r = run_clients([["dd", f"if={f}", "of=/dev/null", "bs=1M"]], timeout, on_timeout=m.stop)
                nbytes = dd_bytes(r.stderr[0]) if r.ok else -1
                expect = self.data.seq_size
            elif base(workload) == "seq4":
                argvs = [["dd", f"if={root / 'par' / DataSet.name(i)}", "of=/dev/null", "bs=1M"] for i in range(4)]
                r = run_clients(argvs, timeout, on_timeout=m.stop)
                nbytes = sum(dd_bytes(e) for e in r.stderr) if r.ok else -1
                expect = 4 * self.data.par_size
            elif workload == "rand4k":
                f = root / "seq" / DataSet.name(0)
                r = run_clients([[self.randread_bin, str(f), "-b", "4096", "-t", str(p["rand_seconds"]),
                                  "-s", str(rep + 1)]], p["rand_seconds"] + timeout, on_timeout=m.stop)
                nbytes = expect = None
            elif workload == "small":
                r = run_clients([[sys.executable, "-c", SMALL_READER, str(root / "small"), str(p["small_files"])]],
                                timeout, on_timeout=m.stop)
                nbytes = expect = None
            elif workload == "ls":
                r = run_clients([["ls", "-lR", str(root / "ls")]], timeout, on_timeout=m.stop)
                nbytes = expect = None
            elif workload == "stream10g":
                f = root / "seq" / DataSet.name(0)
                loop = (f'for i in $(seq {STREAM_PASSES}); do dd if="$0" of=/dev/null bs=1M iflag=direct '
                        f'|| exit 1; done')
                r = run_clients([["sh", "-c", loop, str(f)]], timeout * 2, on_timeout=m.stop)
                nbytes = sum(int(x) for x in DD_BYTES.findall(r.stderr[0])) if r.ok else -1
                expect = STREAM_PASSES * self.data.seq_size
            else:
                raise ValueError(workload)

            cpu1 = {k: cpu_seconds(pid) for k, pid in pids.items()}
            met1 = scrape_read_bytes(info.get("metrics_port"))
            hwm = {k: proc_status_kb(pid, "VmHWM") for k, pid in pids.items()}
            anon = {k: proc_status_kb(pid, "RssAnon") for k, pid in pids.items()}
            if not r.ok:
                raise H.HarnessError(f"client failed: {r.error()}\n--- {target} log ---\n{m.log(30)}")

            sample["wall_s"] = r.wall
            sample["client_cpu_s"] = r.user + r.sys
            if workload in SEQ or workload == "stream10g":
                if nbytes != expect:
                    raise H.HarnessError(f"read {nbytes} bytes, expected {expect}")
                sample["bytes"] = nbytes
                sample["mb_s"] = nbytes / r.wall / 1e6
            elif workload == "rand4k":
                j = json.loads(r.stdout[0])
                if j.get("errors"):
                    raise H.HarnessError(f"randread: {j['errors']} read errors")
                sample.update({k: j[k] for k in ("ops", "iops", "mean_us", "p50_us", "p90_us", "p99_us",
                                                 "p999_us", "max_us", "short_reads")})
                sample["wall_s"] = j["seconds"]
                sample["bytes"] = nbytes = j["ops"] * 4096
            elif workload == "small":
                j = json.loads(r.stdout[0].strip().splitlines()[-1])
                if j["bytes"] != p["small_files"] * p["small_size"]:
                    raise H.HarnessError(f"small: read {j['bytes']} bytes, expected "
                                         f"{p['small_files'] * p['small_size']}")
                sample["files"] = j["files"]
                sample["bytes"] = nbytes = j["bytes"]
                sample["wall_s"] = j["seconds"]
                sample["files_s"] = j["files"] / j["seconds"]
            elif workload == "ls":
                lines = r.stdout[0].count("\n")
                if lines < p["ls_entries"]:
                    raise H.HarnessError(f"ls -lR printed {lines} lines, expected >= {p['ls_entries']}")
                sample["seconds"] = r.wall
                sample["entries_s"] = p["ls_entries"] / r.wall

            sample["cpu_s"] = {k: (cpu1[k] - cpu0[k]) if cpu1[k] is not None and cpu0[k] is not None else None
                               for k in pids}
            if nbytes:
                sample["cpu_s_per_gib"] = {k: (v / (nbytes / GiB)) if v is not None else None
                                           for k, v in sample["cpu_s"].items()}
            sample["peak_rss_mib"] = {k: (v / 1024 if v else None) for k, v in hwm.items()}
            if workload == "stream10g" and hwm.get("client_daemon"):
                sample["client_peak_rss_mib"] = hwm["client_daemon"] / 1024
                if target in OURS:
                    # the memory goal: -cacheCapacityMB + -prefetchMB (defaults) + a fixed overhead
                    sample["rss_bound_mib"] = OUR_CACHE_MB + OUR_PREFETCH_MB + OUR_FIXED_OVERHEAD_MIB
                    sample["within_bound"] = sample["client_peak_rss_mib"] <= sample["rss_bound_mib"]
            # VmHWM counts mapped file pages too (the agent maps the .dat files): RssAnon is the heap
            sample["rss_anon_mib_end"] = {k: (v / 1024 if v else None) for k, v in anon.items()}
            if met0 is not None and met1 is not None:
                sample["read_bytes_by_transport"] = {k: met1.get(k, 0) - met0.get(k, 0)
                                                     for k in set(met0) | set(met1)}
                if (target in AGENT_TARGETS and workload != "ls"
                        and not sample["read_bytes_by_transport"].get("rdma")):
                    sample["warning"] = "no bytes went over rdma (fell back to http?)"
            sample["bdi_read_ahead_kb"] = info.get("bdi_read_ahead_kb")
            note_load(sample, r)
            if base(workload) == "seq1" and target != "nullfs":
                self.spot_check(m.path / "seq" / DataSet.name(0), self.data.seq_blob, rep)
            return sample
        finally:
            m.stop()

    def spot_check(self, path: Path, blob, seed: int) -> None:
        """A few 64 KiB windows compared with the expected bytes (so we never benchmark an error path)."""
        import random as _r
        rng = _r.Random(seed)
        with open(path, "rb", buffering=0) as f:
            for _ in range(3):
                off = rng.randrange(0, max(1, blob.size - 65536))
                f.seek(off)
                got = f.read(65536)
                if got != blob.read(off, 65536):
                    raise H.HarnessError(f"content mismatch at {off} in {path}")

    # -- curl ---------------------------------------------------------------------------------
    def chunk_url(self, fid: str) -> str:
        return f"{self.cluster.volume_url(0)}/{fid}"

    def curl_config(self, path: Path, entries: list[tuple[str, str | None]], write_out: bool) -> None:
        with open(path, "w") as f:
            for i, (url, rng) in enumerate(entries):
                if i:
                    f.write("next\n")
                f.write(f'url = "{url}"\noutput = "/dev/null"\nsilent\nshow-error\nfail\n')
                if rng:
                    f.write(f'range = "{rng}"\n')
                if write_out:
                    f.write('write-out = "%{time_total} %{http_code} %{size_download}\\n"\n')

    def measure_curl(self, workload: str, rep: int) -> dict:
        p = self.p
        c = self.cluster
        tmp = Path(tempfile.mkdtemp(prefix="curl-", dir=c.dir))
        try:
            sample = {"rep": rep}
            pids = {"weed_server": c.server.pid}
            if workload in COLD:
                drop_caches()
            elif workload != "ls":
                self.warm_server()
            reset_peak_rss(c.server.pid)
            cpu0 = {k: cpu_seconds(v) for k, v in pids.items()}
            timeout = 600 if self.size == "full" else 120
            if workload in SEQ:
                lists = [self.data.seq_chunks] if base(workload) == "seq1" else self.data.par_chunks
                argvs = []
                for i, chunks in enumerate(lists):
                    cfg = tmp / f"seq{i}.cfg"
                    self.curl_config(cfg, [(self.chunk_url(ch["fid"]), None) for ch in chunks], False)
                    argvs.append(["curl", "-K", str(cfg)])
                r = run_clients(argvs, timeout)
                if not r.ok:
                    raise H.HarnessError(f"curl failed: {r.error()}")
                nbytes = sum(ch["size"] for chunks in lists for ch in chunks)
                sample.update(bytes=nbytes, wall_s=r.wall, mb_s=nbytes / r.wall / 1e6)
            elif workload == "rand4k":
                import random as _r
                rng = _r.Random(rep + 1)
                entries = []
                nblocks = self.data.seq_size // 4096
                for _ in range(p["curl_rand_ops"]):
                    off = rng.randrange(nblocks) * 4096
                    ch = next(x for x in self.data.seq_chunks if x["offset"] <= off < x["offset"] + x["size"])
                    o = off - ch["offset"]
                    entries.append((self.chunk_url(ch["fid"]), f"{o}-{o + 4095}"))
                cfg = tmp / "rand.cfg"
                self.curl_config(cfg, entries, True)
                r = run_clients([["curl", "-K", str(cfg)]], timeout)
                if not r.ok:
                    raise H.HarnessError(f"curl failed: {r.error()}")
                lat = []
                for line in r.stdout[0].splitlines():
                    t, code, size = line.split()
                    if code not in ("200", "206") or int(float(size)) != 4096:
                        raise H.HarnessError(f"curl range GET: HTTP {code}, {size} bytes")
                    lat.append(float(t) * 1e6)
                lat.sort()

                def pc(q):
                    return lat[min(len(lat) - 1, int(q / 100 * len(lat)))]
                sample.update(ops=len(lat), wall_s=r.wall, iops=len(lat) / r.wall,
                              mean_us=sum(lat) / len(lat), p50_us=pc(50), p90_us=pc(90), p99_us=pc(99),
                              p999_us=pc(99.9), max_us=lat[-1], bytes=len(lat) * 4096)
                nbytes = len(lat) * 4096
            elif workload == "small":
                cfg = tmp / "small.cfg"
                self.curl_config(cfg, [(self.chunk_url(fid), None) for fid in self.data.small_chunks], False)
                r = run_clients([["curl", "-K", str(cfg)]], timeout)
                if not r.ok:
                    raise H.HarnessError(f"curl failed: {r.error()}")
                nbytes = p["small_files"] * p["small_size"]
                sample.update(files=p["small_files"], bytes=nbytes, wall_s=r.wall,
                              files_s=p["small_files"] / r.wall)
            elif workload == "ls":
                # the filer's JSON listing, paged (1000 per page) over one keep-alive connection
                t = time.monotonic()
                conn = http.client.HTTPConnection("127.0.0.1", c.filer_port, timeout=120)
                n, last = 0, ""
                try:
                    while True:
                        q = {"limit": 1000}
                        if last:
                            q["lastFileName"] = last
                        conn.request("GET", f"{DataSet.ROOT}/ls/?" + urllib.parse.urlencode(q),
                                     headers={"Accept": "application/json"})
                        resp = conn.getresponse()
                        j = json.loads(resp.read())
                        ents = j.get("Entries") or []
                        n += len(ents)
                        if not ents or not j.get("ShouldDisplayLoadMore"):
                            break
                        last = j.get("LastFileName") or ents[-1]["FullPath"].rsplit("/", 1)[1]
                finally:
                    conn.close()
                wall = time.monotonic() - t
                if n != p["ls_entries"]:
                    raise H.HarnessError(f"filer listing returned {n} entries, expected {p['ls_entries']}")
                sample.update(seconds=wall, entries_s=n / wall, wall_s=wall,
                              method="python http.client, filer JSON listing, limit=1000 per page")
                r = None
                nbytes = None
            else:
                raise ValueError(workload)
            cpu1 = {k: cpu_seconds(v) for k, v in pids.items()}
            sample["cpu_s"] = {k: cpu1[k] - cpu0[k] for k in pids}
            if r is not None:
                sample["client_cpu_s"] = r.user + r.sys
                sample["cpu_s"]["client"] = r.user + r.sys
            if nbytes:
                sample["cpu_s_per_gib"] = {k: v / (nbytes / GiB) for k, v in sample["cpu_s"].items()}
            sample["peak_rss_mib"] = {"weed_server": (proc_status_kb(c.server.pid, "VmHWM") or 0) / 1024}
            if r is not None:
                sample["peak_rss_mib"]["client"] = r.maxrss_kb / 1024
            note_load(sample, r)
            return sample
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # -- the agent CLI ------------------------------------------------------------------------
    def measure_agent(self, workload: str, rep: int) -> dict:
        p = self.p
        agent = f"127.0.0.1:{self.agent_port}"
        pids = {"agent": self.agent.pid}
        if workload in COLD:
            drop_caches()
        else:
            self.warm_server()
        reset_peak_rss(self.agent.pid)
        cpu0 = {k: cpu_seconds(v) for k, v in pids.items()}

        def script(fids: list[str]) -> list[str]:
            # one shell per reader: the agent CLI once per chunk
            body = "set -e\n" + "".join(
                f"{shlex.quote(self.agent_bin)} read -agent={agent} -fid={shlex.quote(f)} >/dev/null\n"
                for f in fids)
            return ["bash", "-c", body]

        timeout = 600 if self.size == "full" else 120
        if base(workload) == "seq1":
            lists = [[c["fid"] for c in self.data.seq_chunks]]
        elif base(workload) == "seq4":
            lists = [[c["fid"] for c in chunks] for chunks in self.data.par_chunks]
        elif workload == "small":
            # one process per file costs ~15 ms: a subset is enough for files/s
            lists = [self.data.small_chunks[:AGENT_SMALL_FILES]]
        else:
            raise ValueError(workload)
        r = run_clients([script(x) for x in lists], timeout)
        if not r.ok:
            raise H.HarnessError(f"agent read failed: {r.error()}")
        sample = {"rep": rep, "wall_s": r.wall, "client_cpu_s": r.user + r.sys}
        if workload == "small":
            nfiles = len(lists[0])
            nbytes = nfiles * p["small_size"]
            sample.update(files=nfiles, files_s=nfiles / r.wall)
        else:
            chunks = [self.data.seq_chunks] if base(workload) == "seq1" else self.data.par_chunks
            nbytes = sum(c["size"] for cl in chunks for c in cl)
            sample["mb_s"] = nbytes / r.wall / 1e6
        sample["bytes"] = nbytes
        cpu1 = {k: cpu_seconds(v) for k, v in pids.items()}
        sample["cpu_s"] = {k: cpu1[k] - cpu0[k] for k in pids}
        sample["cpu_s"]["client"] = r.user + r.sys
        sample["cpu_s_per_gib"] = {k: v / (nbytes / GiB) for k, v in sample["cpu_s"].items()}
        sample["peak_rss_mib"] = {"agent": (proc_status_kb(self.agent.pid, "VmHWM") or 0) / 1024}
        sample["note"] = "one CLI process per chunk: includes exec + UCX connection setup per chunk"
        note_load(sample, r)
        return sample

    # -- driver ---------------------------------------------------------------------------------
    def run_one(self, target: str, workload: str, rep: int) -> dict:
        if target == "curl":
            return self.measure_curl(workload, rep)
        if target == "agent":
            return self.measure_agent(workload, rep)
        if workload not in COLD:
            if target != "nullfs":
                self.warm_server()
        return self.measure_mount(target, workload, rep)

    def supported(self, target: str, workload: str) -> str | None:
        if target == "agent" and workload == "rand4k":
            return "the agent CLI starts one process (and UCX endpoint) per read: latency would be exec cost"
        if target == "agent" and workload == "ls":
            return "the agent serves needles, not directory listings"
        if workload == "stream10g" and target in ("agent", "curl", "nullfs"):
            return "memory of a mount daemon while streaming: not meaningful for this target"
        if workload == "rand4k" and target not in ("curl", "agent") and not os.access(self.randread_bin, os.X_OK):
            return f"{self.randread_bin} missing"
        return None

    def run_all(self, targets: list[str], workloads: list[str]) -> None:
        n = self.p["repeat"]
        for w in workloads:
            for t in targets:
                info = self.targets[t]
                if not info["available"]:
                    self.skip(t, w, info["skipped_reason"])
                    continue
                why = self.supported(t, w)
                if why:
                    self.skip(t, w, why)
                    continue
                entry = self.results[w].setdefault(t, {"samples": [], "errors": []})
                entry.setdefault("errors", [])
                entry.setdefault("discarded_contended", [])
                budget = self.args.wait_idle  # seconds of waiting for this workload x target
                for rep in range(n):
                    for attempt in range(1 + self.args.retry_contended):
                        if budget > 0 and self.waited < self.args.wait_idle_total:
                            t_w = time.monotonic()
                            wait_idle(min(budget, self.args.wait_idle_total - self.waited), window=0.5)
                            spent = time.monotonic() - t_w
                            budget -= spent
                            self.waited += spent
                        try:
                            s = self.run_one(t, w, rep)
                        except KeyboardInterrupt:
                            raise
                        except Exception as e:  # noqa: BLE001 - record and go on with the next run
                            msg = f"{type(e).__name__}: {e}"
                            entry["errors"].append({"rep": rep, "error": msg[-3000:]})
                            log(f"{w:6s} {t:12s} rep {rep + 1}/{n}: ERROR {msg[:300]}")
                            break
                        s["attempt"] = attempt
                        if contended(s) and attempt < self.args.retry_contended:
                            entry["discarded_contended"].append(s)
                            log(f"{w:6s} {t:12s} rep {rep + 1}/{n}: {self.describe(w, s)}  [other processes used "
                                f"{s['other_cpu_s']:.2f} CPU s: measuring again]")
                            continue
                        entry["samples"].append(s)
                        log(f"{w:6s} {t:12s} rep {rep + 1}/{n}: {self.describe(w, s)}"
                            + (f"  [contended: other processes used {s['other_cpu_s']:.2f} CPU s]"
                               if contended(s) else ""))
                        break
                    if len(entry["errors"]) >= 2 and not entry["samples"]:
                        log(f"{w:6s} {t:12s} giving up after 2 failures")
                        break
                entry["median"] = self.summarize(w, entry["samples"])

    @staticmethod
    def describe(w: str, s: dict) -> str:
        cpu = s.get("cpu_s_per_gib") or {}
        cpu_txt = " ".join(f"{k}={v:.2f}" for k, v in cpu.items() if v is not None)
        if w in SEQ:
            return f"{s['mb_s']:.0f} MB/s  cpu s/GiB: {cpu_txt}"
        if w == "rand4k":
            return (f"{s['iops']:.0f} IOPS p50 {s['p50_us']:.1f} p99 {s['p99_us']:.1f} "
                    f"p99.9 {s['p999_us']:.1f} us")
        if w == "small":
            return f"{s['files_s']:.0f} files/s"
        if w == "ls":
            return f"{s['seconds']:.3f} s ({s['entries_s']:.0f} entries/s)"
        if w == "stream10g":
            bound = f" (bound {s['rss_bound_mib']:.0f})" if s.get("rss_bound_mib") else ""
            return f"peak RSS {s.get('client_peak_rss_mib', 0):.0f} MiB{bound}, {s['mb_s']:.0f} MB/s"
        return json.dumps(s)

    @staticmethod
    def summarize(w: str, samples: list[dict]) -> dict:
        if not samples:
            return {}
        keys = set()
        for s in samples:
            keys |= {k for k, v in s.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        keys.discard("rep")
        keys.discard("attempt")
        med = {k: median([s.get(k) for s in samples]) for k in sorted(keys)}
        for sub in ("cpu_s", "cpu_s_per_gib", "peak_rss_mib", "rss_anon_mib_end", "read_bytes_by_transport"):
            names = set()
            for s in samples:
                names |= set((s.get(sub) or {}).keys())
            if names:
                med[sub] = {n: median([(s.get(sub) or {}).get(n) for s in samples]) for n in sorted(names)}
        prim = WORKLOADS[w]["primary"]
        vals = [s[prim] for s in samples if s.get(prim) is not None]
        if vals:
            med["min_" + prim] = min(vals)
            med["max_" + prim] = max(vals)
        med["n"] = len(samples)
        med["n_contended"] = sum(1 for s in samples if s.get("contended"))
        return med

    def ratios(self) -> dict:
        out = {}
        pairs = [(o, b) for o in OURS for b in ("weed_default", "weed_tuned", "nullfs", "curl", "ours_http")
                 if o != b]
        for w, spec in WORKLOADS.items():
            prim = spec["primary"]
            r = {}
            for a, b in pairs:
                ma = (self.results[w].get(a) or {}).get("median") or {}
                mb = (self.results[w].get(b) or {}).get("median") or {}
                if ma.get(prim) and mb.get(prim):
                    # > 1 means `a` is better
                    r[f"{a}/{b}"] = (ma[prim] / mb[prim]) if spec["higher_better"] else (mb[prim] / ma[prim])
                    if w == "rand4k":
                        for q in ("p50_us", "p99_us"):
                            if ma.get(q) and mb.get(q):
                                r[f"{a}/{b}:{q}"] = ma[q] / mb[q]  # latency ratio, < 1 means `a` is faster
            if r:
                out[w] = r
        out["_meaning"] = ("throughput workloads: median(a)/median(b) of the primary metric, > 1 means a is "
                           "faster; ls: median seconds(b)/seconds(a), > 1 means a is faster; '...:p50_us' "
                           "entries are latency ratios a/b, < 1 means a has lower latency")
        return out

    # -- report --------------------------------------------------------------------------------
    def machine_info(self) -> dict:
        cpu_model = ""
        with contextlib.suppress(OSError):
            for line in open("/proc/cpuinfo"):
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
        mem_kb = None
        with contextlib.suppress(OSError):
            for line in open("/proc/meminfo"):
                if line.startswith("MemTotal:"):
                    mem_kb = int(line.split()[1])
        osrel = ""
        with contextlib.suppress(OSError):
            for line in open("/etc/os-release"):
                if line.startswith("PRETTY_NAME="):
                    osrel = line.split("=", 1)[1].strip().strip('"')
        return {"hostname": socket.gethostname(), "nproc": os.cpu_count(), "cpu_model": cpu_model,
                "mem_total_gib": round(mem_kb / 1024 / 1024, 2) if mem_kb else None,
                "kernel": platform.release(), "os": osrel, "loadavg_at_start": self.loadavg_start,
                "loadavg_at_end": self.loadavg(),
                "fuse_max_pages_limit": sh(["cat", "/proc/sys/fs/fuse/max_pages_limit"]),
                "pipe_max_size": sh(["cat", "/proc/sys/fs/pipe-max-size"])}

    def versions(self) -> dict:
        rev = sh(["git", "-C", str(REPO), "rev-parse", "HEAD"])
        dirty = sh(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"])
        v = {"weed": sh([H.WEED_BIN, "version"]).splitlines()[0] if os.access(H.WEED_BIN, os.X_OK) else None,
             "git_rev": rev, "git_dirty": bool(dirty.strip()),
             "libfuse": sh(["pkg-config", "--modversion", "fuse3"]),
             "fusermount3": sh(["fusermount3", "--version"]),
             "ucx": (sh(["ucx_info", "-v"]).splitlines() or [""])[0].lstrip("# "),
             "curl": sh(["curl", "--version"]).splitlines()[0],
             "python": sys.version.split()[0],
             "mount": sh([self.mount_bin, "-version"]) if os.access(self.mount_bin, os.X_OK) else None,
             "mount_flags": {f: self.has_flag(f) for f in ("rdma.enabled", "rdma.agents", "metricsPort")},
             "agent_present": os.access(self.agent_bin, os.X_OK)}
        return v

    def report(self, out: Path, duration: float) -> dict:
        tuned = {"args": self.weed_tuned_args(), "bdi_read_ahead_kb": WEED_TUNED_READAHEAD_KB,
                 "notes": WEED_TUNED_NOTES}
        self.targets["weed_tuned"]["tuning"] = tuned
        self.targets["nullfs"]["config"] = ("libfuse3 low-level, fuse_session_loop_mt (16 threads, 4 idle), "
                                            "async_read, readdirplus, max_readahead 1 MiB, bdi read_ahead_kb "
                                            "1024, no direct_io, keep_cache off")
        self.notes.append(
            "rand4k on this 2-vCPU VM is bimodal: a FUSE round trip is ~3-7 us when the reader and the daemon "
            "run on the same CPU and ~15-46 us when each wakeup crosses CPUs (limits.md §0, §2c); a busy-"
            "polling agent tends to push the reader and the mount onto the same CPU, so ours_rdma can beat the "
            "unpinned nullfs number. nullfs is a ceiling for throughput, not a latency floor in that case.")
        rep = {
            "schema": SCHEMA,
            "started": self.started.isoformat(timespec="seconds"),
            "duration_s": round(duration, 1),
            "size": self.size,
            "repeat": self.p["repeat"],
            "params": self.p,
            "command": shlex.join([sys.executable] + sys.argv),
            "machine": self.machine_info(),
            "versions": self.versions(),
            "cluster": {"weed_server": "weed server (master+volume+filer in one process), "
                                       "-master.volumeSizeLimitMB=1024",
                        "chunk_mb": self.p["chunk_mb"], "upload_seconds": self.data.upload_seconds,
                        "seq_chunks": len(self.data.seq_chunks)},
            "method": {
                "cold": "seq1/seq4: echo 3 > /proc/sys/vm/drop_caches before every run (client AND server "
                        "page cache cold: the volume server reads .dat from disk); every mount-target run "
                        "uses a fresh mount (weed mount also a fresh -cacheDir)",
                "warm_server": "rand4k/small/ls: fresh mount (client cold) but the volume .dat files are "
                               "read into the page cache first",
                "cpu": "utime+stime from /proc/PID/stat before/after the workload, per daemon; clients via "
                       "wait4 rusage",
                "peak_rss": "VmHWM from /proc/PID/status at the end of the run (long-lived daemons reset "
                            "via clear_refs=5 before each run); it includes mapped file pages (the agent "
                            "maps the volume .dat files), so rss_anon_mib_end (RssAnon) is given too",
                "mb_s": "10^6 bytes per second",
                "contention": "other_cpu_s = CPU seconds used during the run by processes that were not "
                              "measured (other programs on the machine, kernel threads); a run with "
                              "other_cpu_s > max(0.05, wall/4) is 'contended' and is measured again "
                              "(--retry-contended, default once; the discarded samples are kept under "
                              "discarded_contended). --wait-idle waits for a quiet machine before each run.",
            },
            "targets": self.targets,
            "workloads": {w: dict(v) for w, v in WORKLOADS.items()},
            "ceilings": self.ceilings,
            "results": self.results,
            "ratios": self.ratios(),
            "skipped": self.skipped,
            "notes": self.notes,
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        png = out.with_suffix(".png")
        try:
            plot(rep, png)
            rep["plot"] = str(png)
        except Exception as e:  # noqa: BLE001
            rep["plot"] = None
            rep["notes"].append(f"plot failed: {e!r}")
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(rep, indent=1, sort_keys=False) + "\n")
        os.replace(tmp, out)
        return rep


# --------------------------------------------------------------------------------------------
# plot
# --------------------------------------------------------------------------------------------

COLORS = {"ours_rdma": "#d62728", "ours_rdma_cma": "#8c564b", "ours_http": "#ff7f0e", "weed_default": "#1f77b4", "weed_tuned": "#17becf",
          "curl": "#2ca02c", "nullfs": "#7f7f7f", "agent": "#9467bd"}


def plot(rep: dict, png: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("seq1", "mb_s", "MB/s"), ("seq4", "mb_s", "MB/s"), ("seq1_warm", "cpu", "CPU s per GiB"),
              ("seq1_warm", "mb_s", "MB/s"), ("seq4_warm", "mb_s", "MB/s"), ("rand4k", "iops", "IOPS"),
              ("rand4k", "lat", "µs (p50 / p99)"), ("small", "files_s", "files/s"), ("ls", "seconds", "seconds"),
              ("stream10g", "client_peak_rss_mib", "MiB"), ("stream10g", "mb_s", "MB/s (O_DIRECT)")]
    fig, axes = plt.subplots(4, 3, figsize=(17, 17))
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax, (w, key, unit) in zip(axes.flat, panels):
        res = rep["results"].get(w, {})
        names = [t for t in ALL_TARGETS if (res.get(t) or {}).get("median")]
        if key == "cpu":
            names = [t for t in names if t != "agent"]  # the CLI target's client CPU is exec overhead
            daemons = ["client_daemon", "agent", "weed_server", "client"]
            bottom = [0.0] * len(names)
            hatches = {"client_daemon": "", "agent": "xx", "weed_server": "//", "client": ".."}
            for d in daemons:
                vals = [((res[t]["median"].get("cpu_s_per_gib") or {}).get(d) or 0) for t in names]
                if not any(vals):
                    continue
                ax.bar(names, vals, bottom=bottom, color=[COLORS[t] for t in names], hatch=hatches[d],
                       edgecolor="k", alpha=0.8, label=d)
                bottom = [a + b for a, b in zip(bottom, vals)]
            for i, v in enumerate(bottom):
                ax.text(i, v, f"{v:.2f}", ha="center", va="bottom", fontsize=7)
            from matplotlib.patches import Patch
            ax.legend(handles=[Patch(facecolor="white", edgecolor="k", hatch=hatches[d], label=d)
                               for d in daemons], fontsize=7)
            ax.set_title(f"{w}: CPU s per GiB read, by process (lower is better)", fontsize=10)
            ax.set_ylabel(unit)
            ax.tick_params(axis="x", rotation=30, labelsize=8)
            for lbl in ax.get_xticklabels():
                lbl.set_ha("right")
            continue
        if key == "lat":
            import numpy as np
            x = np.arange(len(names))
            p50 = [res[t]["median"].get("p50_us", 0) for t in names]
            p99 = [res[t]["median"].get("p99_us", 0) for t in names]
            ax.bar(x - 0.2, p50, 0.4, color=[COLORS[t] for t in names], label="p50")
            ax.bar(x + 0.2, p99, 0.4, color=[COLORS[t] for t in names], alpha=0.5, hatch="//", label="p99")
            for xi, a, b in zip(x, p50, p99):
                ax.text(xi - 0.2, a, f"{a:.0f}", ha="center", va="bottom", fontsize=7)
                ax.text(xi + 0.2, b, f"{b:.0f}", ha="center", va="bottom", fontsize=7)
            if "nullfs" in names:
                ax.axhline(res["nullfs"]["median"].get("p50_us", 0), ls="--", color="k", lw=1,
                           label="nullfs p50 (floor)")
            ax.set_xticks(x)
            ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
            ax.set_yscale("log")
            ax.legend(fontsize=7)
            ax.set_title(f"{w}: latency (lower is better)", fontsize=10)
            ax.set_ylabel(unit)
            continue
        vals = [res[t]["median"].get(key) or 0 for t in names]
        lo = [res[t]["median"].get("min_" + key, v) for t, v in zip(names, vals)]
        hi = [res[t]["median"].get("max_" + key, v) for t, v in zip(names, vals)]
        yerr = [[max(0, v - a) for v, a in zip(vals, lo)], [max(0, b - v) for v, b in zip(vals, hi)]]
        bars = ax.bar(names, vals, color=[COLORS[t] for t in names], yerr=yerr, capsize=3)
        for b, v in zip(bars, vals):
            ax.text(b.get_x() + b.get_width() / 2, b.get_height(), f"{v:,.0f}" if v >= 10 else f"{v:.3g}",
                    ha="center", va="bottom", fontsize=7)
        if "nullfs" in names:
            ax.axhline(res["nullfs"]["median"].get(key) or 0, ls="--", color="k", lw=1,
                       label="FUSE ceiling (nullfs)")
            ax.legend(fontsize=7)
        disk = (rep.get("ceilings") or {}).get("disk_cold_mb_s")
        if w in ("seq1", "seq4") and disk:
            ax.axhline(disk, ls=":", color="r", lw=1.2, label="server disk, cold (best dd run of the .dat files)")
            ax.legend(fontsize=7)
        if w == "stream10g" and key == "client_peak_rss_mib":
            ax.axhline(OUR_CACHE_MB + OUR_PREFETCH_MB + OUR_FIXED_OVERHEAD_MIB, ls="--", color="r", lw=1,
                       label="bound: -cacheCapacityMB + -prefetchMB + 64 MiB")
            ax.legend(fontsize=7)
        better = "higher" if WORKLOADS[w]["higher_better"] else "lower"
        title = WORKLOADS[w]["title"] if key == WORKLOADS[w]["primary"] else f"throughput of the same runs ({unit})"
        if key != WORKLOADS[w]["primary"]:
            better = "higher" if key.endswith("_s") else better
        ax.set_title(f"{w}: {title} ({better} is better)", fontsize=10)
        ax.set_ylabel(unit)
        ax.tick_params(axis="x", rotation=30, labelsize=8)
        for lbl in ax.get_xticklabels():
            lbl.set_ha("right")
    m = rep["machine"]
    fig.suptitle(f"seaweed-rdma-mount read benchmark ({rep['size']}, n={rep['repeat']}, medians, whiskers "
                 f"min-max) — {m['nproc']} CPU {m['cpu_model']}, kernel {m['kernel']}, "
                 f"{rep['versions'].get('weed')}, git {str(rep['versions'].get('git_rev'))[:10]}",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(png, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=sorted(SIZES), default="full")
    ap.add_argument("--repeat", type=int, default=0, help="runs per measurement (default 3; tiny 1)")
    ap.add_argument("--out", help="JSON output (default bench/results/<date>-<host>.json; PNG beside it)")
    ap.add_argument("--build-dir", default=str(REPO / "build"), help="where bin/ has the binaries")
    ap.add_argument("--targets", default=",".join(ALL_TARGETS))
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--rand-seconds", type=float, default=0.0)
    ap.add_argument("--wait-idle", type=float, default=0.0,
                    help="before each workload x target, wait up to this many seconds for the machine to be "
                         "< 25%% busy (other work running on the box skews the numbers)")
    ap.add_argument("--wait-idle-total", type=float, default=600.0,
                    help="cap on all --wait-idle waiting in one run (seconds)")
    ap.add_argument("--retry-contended", type=int, default=1,
                    help="measure a run again (up to N times) when other processes used more than 1/8 of the "
                         "machine during it; the discarded samples are kept in the JSON")
    ap.add_argument("--weed-tuned-args", default=None, help="override the weed_tuned flags (one string)")
    ap.add_argument("--replot", metavar="JSON", help="only redraw the PNG of an existing result JSON")
    ap.add_argument("--disk", action="store_true", help="measure the disk ceiling also at --size tiny")
    args = ap.parse_args(argv)
    if args.replot:
        rep = json.loads(Path(args.replot).read_text())
        plot(rep, Path(args.replot).with_suffix(".png"))
        print_table(rep)
        return 0

    targets = [t for t in args.targets.split(",") if t]
    workloads = [w for w in args.workloads.split(",") if w]
    for t in targets:
        if t not in ALL_TARGETS:
            ap.error(f"unknown target {t} (known: {', '.join(ALL_TARGETS)})")
    for w in workloads:
        if w not in WORKLOADS:
            ap.error(f"unknown workload {w} (known: {', '.join(WORKLOADS)})")
    if os.geteuid() != 0:
        print("bench: warning: not root: drop_caches and bdi readahead changes will fail", file=sys.stderr)

    date = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else REPO / "bench" / "results" / f"{date}-{socket.gethostname()}.json"

    H.install_signal_handlers()
    b = Bench(args)
    b.check_targets(targets)
    start = time.monotonic()
    rc = 0
    try:
        b.start_cluster()
        b.data.upload(b.cluster)
        b.sync_volumes()
        b.start_agent()
        b.measure_disk()
        b.run_all(targets, workloads)
    except KeyboardInterrupt:
        log("interrupted: writing what was measured so far")
        b.notes.append("run interrupted")
        rc = 130
    except Exception as e:  # noqa: BLE001
        log(f"FAILED: {type(e).__name__}: {e}")
        b.notes.append(f"run failed: {type(e).__name__}: {e}"[:3000])
        rc = 1
    finally:
        try:
            if b.cluster:
                log("stopping cluster")
                if b.agent:
                    b.agent.stop()
                if b.agent_cma:
                    b.agent_cma.stop()
                b.cluster.stop()
        finally:
            H.cleanup_all()
    rep = b.report(out, time.monotonic() - start)
    log(f"wrote {out} and {rep.get('plot')}")
    print_table(rep)
    return rc


def print_table(rep: dict) -> None:
    rows = []
    hdr = ["target", "seq1 MB/s", "seq4 MB/s", "seq1w MB/s", "seq4w MB/s", "rand4k IOPS", "p50 us", "p99 us",
           "p99.9 us", "small files/s", "ls -lR s", "10G RSS MiB", "seq1w cpu s/GiB"]
    for t in ALL_TARGETS:
        def g(w, k, fmt="{:.0f}"):
            m = ((rep["results"].get(w) or {}).get(t) or {}).get("median") or {}
            v = m.get(k)
            return fmt.format(v) if isinstance(v, (int, float)) else "-"
        cpu = ((((rep["results"].get("seq1_warm") or {}).get(t) or {}).get("median") or {}).get("cpu_s_per_gib")
               or {})
        cpu_txt = ", ".join(f"{k}={v:.2f}" for k, v in cpu.items() if v is not None) or "-"
        rows.append([t, g("seq1", "mb_s"), g("seq4", "mb_s"), g("seq1_warm", "mb_s"), g("seq4_warm", "mb_s"),
                     g("rand4k", "iops"), g("rand4k", "p50_us", "{:.1f}"),
                     g("rand4k", "p99_us", "{:.1f}"), g("rand4k", "p999_us", "{:.1f}"), g("small", "files_s"),
                     g("ls", "seconds", "{:.3f}"), g("stream10g", "client_peak_rss_mib"), cpu_txt])
    widths = [max(len(str(r[i])) for r in rows + [hdr]) for i in range(len(hdr))]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(hdr, widths)))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    if rep["skipped"]:
        print("\nskipped:")
        seen = set()
        for s in rep["skipped"]:
            key = (s["target"], s["reason"])
            if key in seen:
                continue
            seen.add(key)
            ws = [x["workload"] for x in rep["skipped"] if (x["target"], x["reason"]) == key]
            print(f"  {s['target']} ({','.join(ws)}): {s['reason']}")


if __name__ == "__main__":
    sys.exit(main())

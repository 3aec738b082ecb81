"""Observability of a live mount and agent (issue 11): /metrics scraped while the corpus is read
through the agent, every metric checked against what the test did (bytes by transport against the
bytes read, histogram counts against request counts on the other side, gauges against what is
open); `seaweed-rdma-mount stats MOUNTPOINT [-json]` on a live mount (and its errors); logs to a
file and the level changed by SIGUSR1/SIGUSR2 in both binaries.

The figures of the corpus read (each metric before and after) go to the summary at the end."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from harness import MOUNT_BIN, STATS, MiB, Mount, format_mismatches, verify_sequential
from test_rdma import (Agent, RdmaMount, by_label, core_files, items_of, msum, scrape, volume_server_key,
                       wait_until)

READ_HIST = "seaweed_mount_volume_read_duration_seconds"
FUSE_HIST = "seaweed_mount_fuse_op_duration_seconds"
AGENT_HIST = "seaweed_agent_request_duration_seconds"
CACHE_MB = 64


def series(m: dict, name: str) -> dict:
    """{labels: value} of one metric."""
    return {ls: v for (n, ls), v in m.items() if n == name}


def hist_count(m: dict, name: str, **labels) -> float:
    return msum(m, name + "_count", **labels)


def check_histograms(m: dict, what: str) -> int:
    """Every histogram series of a scrape is well formed: cumulative buckets that never decrease,
    +Inf equal to _count. Returns how many series were checked."""
    buckets: dict[tuple, list] = {}
    for (n, ls), v in m.items():
        if n.endswith("_bucket"):
            d = dict(ls)
            le = d.pop("le")
            buckets.setdefault((n[:-len("_bucket")], tuple(sorted(d.items()))), []).append(
                (float("inf") if le == "+Inf" else float(le), v))
    for (name, ls), bs in buckets.items():
        bs.sort()
        counts = [c for _, c in bs]
        assert counts == sorted(counts), f"[{what}] {name}{dict(ls)}: buckets not cumulative: {bs}"
        assert bs[-1][0] == float("inf"), f"[{what}] {name}: no +Inf bucket"
        assert m[(name + "_count", ls)] == bs[-1][1], f"[{what}] {name}{dict(ls)}: _count != +Inf bucket"
    return len(buckets)


class Scraper(threading.Thread):
    """Scrapes a /metrics URL every `interval` s while reads run: every scrape must answer, and no
    counter (nor histogram count) may go down between two scrapes."""

    def __init__(self, url: str, interval: float = 0.25):
        super().__init__(daemon=True)
        self.url, self.interval = url, interval
        self.stop_event = threading.Event()
        self.scrapes = 0
        self.errors: list[str] = []
        self.max_rss = 0.0
        self.max_open_files = 0.0
        self._last: dict = {}

    def run(self):
        while not self.stop_event.is_set():
            try:
                m = scrape(self.url, timeout=10)
            except Exception as e:  # noqa: BLE001 - reported by the test
                self.errors.append(f"scrape failed: {e!r}")
                self.stop_event.wait(self.interval)
                continue
            self.scrapes += 1
            for key, v in m.items():
                n = key[0]
                monotonic = n.endswith("_total") or n.endswith("_count") or n.endswith("_bucket")
                if monotonic and key in self._last and v < self._last[key]:
                    self.errors.append(f"{n}{dict(key[1])} went down: {self._last[key]} -> {v}")
            self._last = m
            self.max_rss = max(self.max_rss, msum(m, "process_resident_memory_bytes"))
            self.max_open_files = max(self.max_open_files, msum(m, "seaweed_mount_open_files"))
            self.stop_event.wait(self.interval)

    def stop(self):
        self.stop_event.set()
        self.join(30)


def plain(f) -> bool:
    """Files whose bytes come from the volume servers exactly once and as stored: no gzip (the
    stored bytes are fewer), no inline content, no holes or overwritten ranges."""
    return f.kind in ("plain", "chunked", "huge") and not f.compressed and not f.inline and f.blob.size > 0


def run_stats(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([MOUNT_BIN, "stats", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def agent(cluster, corpus):
    a = Agent(cluster, name="obs-agent")
    a.start()
    yield a
    rc = a.stop()
    assert rc == 0, f"agent exited with {rc} on SIGTERM:\n{a.log()}"


# =============================================================================================
# /metrics during the corpus read
# =============================================================================================

def test_metrics_move_as_the_corpus_is_read(cluster, corpus, agent):
    files = core_files(corpus)
    # Small uploads the filer stored inline have no chunks, whatever the corpus expected.
    first = [f for f in files if plain(f) and cluster.chunks_of(f.path)]
    rest = [f for f in files if f not in first]
    t_start = time.time()
    with RdmaMount(cluster, {volume_server_key(cluster): agent.address},
                   args=[f"-cacheCapacityMB={CACHE_MB}"], name="obs-mount") as m:
        url = f"http://127.0.0.1:{m.metrics_port}/metrics"
        m0, a0 = m.metrics(), agent.metrics()
        scraper = Scraper(url)
        scraper.start()
        try:
            bad = verify_sequential(items_of(m, first), cluster)
            m1, a1 = m.metrics(), agent.metrics()
            bad += verify_sequential(items_of(m, rest), cluster)
            # A file held open shows in the open-files gauge.
            with open(m.p(first[0].path), "rb") as held:
                held.read(1)
                held_open = msum(m.metrics(), "seaweed_mount_open_files")
        finally:
            scraper.stop()
        assert not bad, format_mismatches(bad)
        # release is asynchronous: the gauge returns to 0 once the kernel sent every RELEASE.
        wait_until("open files back to 0", lambda: msum(m.metrics(), "seaweed_mount_open_files") == 0, 15)
        # A change under the mount is an applied event: the subscription lag drops below a second.
        cluster.put(f"/obs/lag-{time.time_ns()}", b"event")
        lag = wait_until("subscription lag < 1 s after a change",
                         lambda: (v := msum(m.metrics(), "seaweed_mount_metadata_subscription_lag_seconds")) < 1.0
                         and v >= 0 and [v], 15)[0]
        m2, a2 = m.metrics(), agent.metrics()
        version = subprocess.run([MOUNT_BIN, "-version"], capture_output=True, text=True, timeout=30).stdout

    def d(after, before, name, **labels):
        return msum(after, name, **labels) - msum(before, name, **labels)

    notes = []

    def note(s: str):
        notes.append(s)
        STATS.notes.append("observability: " + s)

    # --- scrapes during the read
    assert scraper.scrapes >= 3, f"only {scraper.scrapes} scrapes during the read"
    assert not scraper.errors, "\n".join(scraper.errors[:20])
    note(f"{scraper.scrapes} scrapes during the read, all answered, no counter went down; "
         f"peak RSS {scraper.max_rss / MiB:.0f} MiB, peak open files {int(scraper.max_open_files)}")

    # --- bytes by transport sum to what was read (plain files: every byte fetched once as stored)
    plain_bytes = sum(f.blob.size for f in first)
    rdma, http = d(m1, m0, "seaweed_mount_read_bytes_total", transport="rdma"), \
        d(m1, m0, "seaweed_mount_read_bytes_total", transport="http")
    note(f"plain files ({len(first)}, {plain_bytes} B): read_bytes_total rdma +{int(rdma)}, http +{int(http)}")
    assert rdma + http == plain_bytes, f"transport bytes {rdma}+{http} != {plain_bytes} read"
    assert rdma >= 0.95 * plain_bytes
    fuse_bytes = d(m1, m0, "seaweed_mount_fuse_read_bytes_total")
    assert fuse_bytes == plain_bytes, f"FUSE read bytes {fuse_bytes} != {plain_bytes}"
    all_bytes = sum(f.blob.size for f in files)
    fuse_all = d(m2, m0, "seaweed_mount_fuse_read_bytes_total")
    note(f"all {len(files)} files ({all_bytes} B): fuse_read_bytes_total +{int(fuse_all)}; read_bytes_total "
         f"rdma +{int(d(m2, m0, 'seaweed_mount_read_bytes_total', transport='rdma'))}, http "
         f"+{int(d(m2, m0, 'seaweed_mount_read_bytes_total', transport='http'))} (gzip chunks count stored "
         f"bytes, inline files none)")
    assert fuse_all >= all_bytes  # + the byte read while holding a file open (page cache may serve it)

    # --- histogram counts equal request counts (mount's agent reads = the agent's READ requests)
    n_checked = check_histograms(m2, "mount") + check_histograms(a2, "agent")
    mount_rdma_requests = d(m2, m0, READ_HIST + "_count", transport="rdma")
    mount_rdma_ok = d(m2, m0, READ_HIST + "_count", transport="rdma", outcome="ok")
    agent_reads = d(a2, a0, AGENT_HIST + "_count", op="read")
    agent_reads_ok = d(a2, a0, AGENT_HIST + "_count", op="read", result="ok")
    note(f"volume reads over rdma: mount histogram count +{int(mount_rdma_requests)} (ok {int(mount_rdma_ok)}), "
         f"agent request histogram op=read +{int(agent_reads)} (ok {int(agent_reads_ok)}); over http: "
         f"+{int(d(m2, m0, READ_HIST + '_count', transport='http'))}")
    assert mount_rdma_requests == agent_reads, f"mount sent {mount_rdma_requests} agent reads, agent saw {agent_reads}"
    assert mount_rdma_ok == agent_reads_ok
    served = d(a2, a0, "seaweed_agent_served_bytes_total")
    mount_rdma_bytes = d(m2, m0, "seaweed_mount_read_bytes_total", transport="rdma")
    note(f"agent served_bytes_total +{int(served)}, mount read_bytes_total{{rdma}} +{int(mount_rdma_bytes)}")
    assert served == mount_rdma_bytes
    fuse_opens = d(m2, m0, FUSE_HIST + "_count", op="open")
    fuse_releases = d(m2, m0, FUSE_HIST + "_count", op="release")
    fuse_reads = d(m2, m0, FUSE_HIST + "_count", op="read")
    note(f"FUSE ops: open +{int(fuse_opens)}, release +{int(fuse_releases)}, read +{int(fuse_reads)}, "
         f"lookup +{int(d(m2, m0, FUSE_HIST + '_count', op='lookup'))}, getattr "
         f"+{int(d(m2, m0, FUSE_HIST + '_count', op='getattr'))}; {n_checked} histogram series well formed")
    assert fuse_opens == len(files) + 1, f"{fuse_opens} FUSE opens for {len(files)} + 1 opened files"
    assert fuse_releases == fuse_opens
    assert fuse_reads >= sum(1 for f in files if f.blob.size > 0 and not f.inline) / 2
    p50 = quantile(m2, FUSE_HIST, 0.5, op="read")
    p99 = quantile(m2, FUSE_HIST, 0.99, op="read")
    rp50 = quantile(m2, READ_HIST, 0.5, transport="rdma", outcome="ok")
    note(f"FUSE read latency p50 {p50 * 1e6:.0f} us, p99 {p99 * 1e6:.0f} us; agent volume read p50 "
         f"{rp50 * 1e6:.0f} us")
    assert 0 < p50 <= p99 <= 10

    # --- fallbacks: none while the agent serves
    fallbacks = by_label(m2, "seaweed_mount_rdma_fallbacks_total", "reason")
    note(f"fallbacks by reason: {dict((k, int(v)) for k, v in sorted(fallbacks.items()))}")

    # --- gauges
    agents = by_label(m2, "seaweed_mount_agents", "state")
    note(f"agents up {int(agents.get('up', -1))}, down {int(agents.get('down', -1))}")
    assert agents.get("up") == 1 and agents.get("down") == 0, agents
    cache = msum(m2, "seaweed_mount_chunk_cache_bytes")
    hits = d(m2, m0, "seaweed_mount_chunk_cache_lookups_total", result="hit")
    misses = d(m2, m0, "seaweed_mount_chunk_cache_lookups_total", result="miss")
    note(f"chunk cache {int(cache)} B (bound {CACHE_MB} MiB), lookups hit +{int(hits)} miss +{int(misses)}")
    assert 0 < cache <= CACHE_MB * MiB, "gzip chunks are decoded into the cache"
    assert misses > 0
    inodes = msum(m2, "seaweed_mount_inodes")
    note(f"inodes {int(inodes)}, open files while one was held {int(held_open)}, after {0}")
    assert inodes >= 1
    assert held_open >= 1
    note(f"subscription lag {lag:.3f} s after a change under the mount")

    # --- process and build info
    rss, fds = msum(m2, "process_resident_memory_bytes"), msum(m2, "process_open_fds")
    cpu0, cpu2 = msum(m0, "process_cpu_seconds_total"), msum(m2, "process_cpu_seconds_total")
    threads, started = msum(m2, "process_threads"), msum(m2, "process_start_time_seconds")
    note(f"process: RSS {rss / MiB:.0f} MiB, open fds {int(fds)} (max {int(msum(m2, 'process_max_fds'))}), "
         f"threads {int(threads)}, CPU {cpu0:.2f} -> {cpu2:.2f} s, started {started - t_start:+.1f} s after the test")
    assert rss > MiB and fds > 3 and threads > 2 and cpu2 > cpu0
    assert t_start - 2 <= started <= time.time()
    build = [dict(ls) for ls in series(m2, "seaweed_build_info")]
    note(f"build_info {build}")
    assert len(build) == 1 and build[0]["program"] == "mount" and build[0]["version"] in version
    abuild = [dict(ls) for ls in series(a2, "seaweed_build_info")]
    assert len(abuild) == 1 and abuild[0]["program"] == "agent"
    volumes, conns = msum(a2, "seaweed_agent_volumes"), msum(a1, "seaweed_agent_connections")
    note(f"agent: volumes {int(volumes)}, connections {int(conns)} while the mount read, RSS "
         f"{msum(a2, 'process_resident_memory_bytes') / MiB:.0f} MiB")
    assert volumes >= 1 and conns >= 1


def quantile(m: dict, name: str, q: float, **labels) -> float:
    """histogram_quantile over the buckets of the series matching labels (summed)."""
    want = set(labels.items())
    by_le: dict[float, float] = {}
    for (n, ls), v in m.items():
        if n != name + "_bucket" or not want <= set(ls):
            continue
        le = dict(ls)["le"]
        k = float("inf") if le == "+Inf" else float(le)
        by_le[k] = by_le.get(k, 0) + v
    bs = sorted(by_le.items())
    total = bs[-1][1] if bs else 0
    if not total:
        return float("nan")
    rank, prev_le, prev_c = q * total, 0.0, 0.0
    for le, c in bs:
        if c >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_c) / (c - prev_c)
        prev_le, prev_c = le, c
    return prev_le


# =============================================================================================
# seaweed-rdma-mount stats MOUNTPOINT
# =============================================================================================

def test_stats_command_on_a_live_mount(cluster, corpus, agent):
    """The table and -json of a live mount agree with its /metrics; stats works without a metrics
    port (the default); errors name what the path is not."""
    files = [f for f in core_files(corpus) if plain(f)][:20]
    with RdmaMount(cluster, {volume_server_key(cluster): agent.address}, name="obs-stats") as m:
        bad = verify_sequential(items_of(m, files), cluster)
        assert not bad, format_mismatches(bad)
        before = m.metrics()
        r = run_stats(str(m.path), "-json")
        after = m.metrics()
        assert r.returncode == 0, r.stderr
        s = json.loads(r.stdout)
        for t in ("rdma", "http"):
            b0 = msum(before, "seaweed_mount_read_bytes_total", transport=t)
            assert msum(after, "seaweed_mount_read_bytes_total", transport=t) == b0
            assert s["transport"].get(t, {"bytes": 0})["bytes"] == b0, (t, s["transport"])
        assert s["mount"]["mountpoint"] == str(m.path)
        assert s["pid"] == m.proc.pid
        assert s["agents"] == {"up": 1, "down": 0}
        assert s["transport"]["rdma"]["share"] > 0.95
        assert 0 < s["transport"]["rdma"]["p50_seconds"] <= s["transport"]["rdma"]["p99_seconds"]
        assert s["fuse"]["ops"]["read"]["count"] == hist_count(after, FUSE_HIST, op="read")
        table = run_stats(str(m.path))
        assert table.returncode == 0, table.stderr
        STATS.notes.append("observability: stats table of a live mount:\n" + table.stdout.rstrip())
        assert re.search(r"^  rdma +\S+ \S+ +\d+\.\d% ", table.stdout, re.M), table.stdout
        assert "agents        up 1, down 0" in table.stdout
        assert "read latency  p50 " in table.stdout

        # Virtual: only the root answers it and listxattr never shows it.
        assert "seaweed.stats" not in os.listxattr(m.path)
        sub = next(p for p in m.path.iterdir() if p.is_dir())
        with pytest.raises(OSError) as e:
            os.getxattr(sub, "seaweed.stats")
        assert e.value.errno == errno.ENODATA
        assert json.loads(os.getxattr(m.path, "seaweed.stats"))["version"] == 1

    # The default mount has no metrics port; the stats still answer.
    with Mount(cluster, ["-readOnly"], name="obs-noport") as m:
        assert "-metricsPort" not in " ".join(m.argv())
        with open(m.p(files[0].path), "rb") as f:
            f.read()
        r = run_stats(str(m.path), "-json")
        assert r.returncode == 0, r.stderr
        s = json.loads(r.stdout)
        assert s["transport"]["http"]["bytes"] == files[0].blob.size
        assert s["fuse"]["ops"]["read"]["count"] >= 1

    with tempfile.TemporaryDirectory() as plain_dir:
        r = run_stats(plain_dir)
        assert r.returncode == 1 and "is not a seaweed-rdma-mount mount" in r.stderr, r
    r = run_stats("/nonexistent/obs")
    assert r.returncode == 1 and "No such file" in r.stderr, r
    r = run_stats()
    assert r.returncode == 2 and "MOUNTPOINT" in r.stderr, r


# =============================================================================================
# logs: a file, the level by signal
# =============================================================================================

def poll_file(path: Path, text: str, timeout: float = 15.0) -> str:
    return wait_until(f"{text!r} in {path}", lambda: text in (c := path.read_text(errors="replace")) and c,
                      timeout)


def test_logs_to_a_file_and_the_level_changes_by_signal(cluster, corpus, tmp_path):
    log = tmp_path / "mount.log"
    with Mount(cluster, ["-readOnly", f"-logFile={log}", "-logMaxSizeMB=1", "-logMaxFiles=2"],
               name="obs-logs") as m:
        poll_file(log, " I [mount] filer ")
        assert " I [mount] " not in m.log(200), "info lines go to the file only"
        # A missing xattr is an ENODATA reply, logged at debug level with its name.
        root = m.p("/corpus")

        def ask(name: str):
            with pytest.raises(OSError) as e:
                os.getxattr(root, name)
            assert e.value.errno == errno.ENODATA

        ask("user.obs-miss-1")
        m.proc.send_signal(signal.SIGUSR1)
        poll_file(log, "log level debug (SIGUSR1; SIGUSR2 returns to info)")
        ask("user.obs-miss-2")  # a debug line now
        poll_file(log, "no xattr user.obs-miss-2")
        assert "user.obs-miss-1" not in log.read_text()
        m.proc.send_signal(signal.SIGUSR2)
        poll_file(log, "log level info (SIGUSR2: back to the configured level)")
        ask("user.obs-miss-3")
        f = next(f for f in core_files(corpus) if plain(f))
        assert m.p(f.path).read_bytes() == f.blob.read(0, f.blob.size)  # still serving
        assert m.proc.alive()
    assert "user.obs-miss-3" not in log.read_text()  # complete: the mount has exited

    alog = tmp_path / "agent.log"
    a = Agent(cluster, name="obs-agent-logs", extra=[f"-logFile={alog}"], sidecar=False, metrics=False)
    try:
        a.start()
        poll_file(alog, "serving ")
        a.signal(signal.SIGUSR1)
        poll_file(alog, "log level debug (SIGUSR1; SIGUSR2 returns to info)")
        a.signal(signal.SIGUSR2)
        poll_file(alog, "log level info (SIGUSR2")
        assert a.ping().returncode == 0
        rc = a.stop()
        assert rc == 0, f"agent exited with {rc} on SIGTERM after level signals:\n{alog.read_text()[-2000:]}"
    finally:
        a.stop()


def test_bad_log_flags_exit_2(cluster, tmp_path):
    for args, text in ((["-logTo=journal"], "stderr, syslog or file"),
                       (["-logTo=syslog", f"-logFile={tmp_path / 'x.log'}"], "exclude each other"),
                       (["-logTo=file"], "-logFile")):
        r = subprocess.run([MOUNT_BIN, f"-filer={cluster.filer_addr}", *args, str(tmp_path)], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 2 and text in r.stderr, (args, r.returncode, r.stderr)

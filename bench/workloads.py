"""The workloads. Each is one object: which data sets it needs, how to run it on each kind of
target (on_mount: client programs on a mounted directory; on_http: against the volume server
and filer directly; on_agent_cli: the agent's read CLI), how to parse what the clients print
into a sample, and how to describe a sample in one line. A workload without an on_KIND method
does not run on that kind of target (the reason is in `not_on`)."""

from __future__ import annotations

import http.client
import json
import random
import sys
import time
import urllib.parse

import harness as H

from .clients import (SMALL_READER, WALKER, dd_argv, dd_bytes, dd_bytes_total, parse_curl_latencies,
                      parse_randread, parse_small_reader, randread_argv, write_curl_config)
from .config import AGENT_SMALL_FILES, OUR_RSS_BOUND_MIB, STREAM_PASSES, WALK_RSS_GOAL_MIB
from .datasets import ROOT
from .plot import Panel
from .report import latency_stats
from .system import drop_caches, proc_status_kb


def throughput(nbytes: int, expected: int, wall_s: float) -> dict:
    """{bytes, mb_s} of a read that must have returned exactly `expected` bytes."""
    if nbytes != expected:
        raise H.HarnessError(f"read {nbytes} bytes, expected {expected}")
    return {"bytes": nbytes, "mb_s": nbytes / wall_s / 1e6}


def spot_check(path, blob: H.Blob, seed: int) -> None:
    """A few 64 KiB windows compared with the expected bytes (so we never benchmark an error path)."""
    rng = random.Random(seed)
    with open(path, "rb", buffering=0) as f:
        for _ in range(3):
            off = rng.randrange(0, max(1, blob.size - 65536))
            f.seek(off)
            if f.read(65536) != blob.read(off, 65536):
                raise H.HarnessError(f"content mismatch at {off} in {path}")


class Workload:
    name = ""
    title = ""
    unit = ""
    primary = ""              # the sample field that ranks targets
    higher_better = True
    description = ""
    datasets: tuple[str, ...] = ()
    cold = False              # drop_caches before each run; otherwise the volume files are read
                              # into the page cache first (the client is cold either way: fresh mount)
    reads_data = True         # False: metadata only (no transport check, nothing to warm for HTTP)
    panels: tuple[Panel, ...] = ()
    not_on: dict[str, str] = {}   # target kind -> why this workload does not run there

    def spec(self) -> dict:
        """The JSON's "workloads" entry."""
        return dict(title=self.title, unit=self.unit, primary=self.primary, higher_better=self.higher_better,
                    description=self.description)

    def unsupported(self, target, session) -> str | None:
        """Why this workload cannot run on `target`, or None."""
        if getattr(self, "on_" + target.kind, None) is None:
            return self.not_on.get(target.kind, f"{self.name} does not run on {target.kind} targets")
        return None

    def verify(self, run) -> None:
        """After the measurement, on the still mounted target: check what was read."""

    def finish_sample(self, run, sample: dict) -> None:
        """After the target's accounting (CPU, peak RSS) is in the sample: derived fields."""

    def describe(self, s: dict) -> str:
        return json.dumps(s)


class SeqRead(Workload):
    """dd bs=1M of the seq file (1 reader) or of the 4 par files in parallel (4 readers)."""

    primary = "mb_s"
    unit = "MB/s"
    datasets = ("large",)

    def __init__(self, name: str, readers: int, cold: bool):
        self.name, self.readers, self.cold = name, readers, cold
        what = "1 reader, sequential" if readers == 1 else "4 readers, sequential"
        self.title = what if cold else what + ", server cache warm"
        if cold and readers == 1:
            self.description = "dd bs=1M of one file (seq_bytes) after drop_caches, fresh mount"
        elif cold:
            self.description = "4 dd bs=1M in parallel, 4 files of seq_bytes/4, after drop_caches, fresh mount"
        elif readers == 1:
            self.description = ("as seq1 (fresh mount, client cold) but the volume .dat files are in the "
                                "page cache: isolates the client path from the server's disk")
        else:
            self.description = "as seq4 but the volume .dat files are in the page cache"
        mb_s = Panel("mb_s", "MB/s", disk_ceiling=cold)
        self.panels = (Panel("cpu", "CPU s per GiB", kind="cpu"), mb_s) if name == "seq1_warm" else (mb_s,)

    def _files(self, large) -> list[str]:
        return [large.seq_path] if self.readers == 1 else large.par_paths()

    def _chunks(self, large) -> list[list[dict]]:
        return [large.seq_chunks] if self.readers == 1 else large.par_chunks

    def _expected(self, large) -> int:
        return large.seq_size if self.readers == 1 else 4 * large.par_size

    def on_mount(self, run) -> dict:
        large = run.session.data.large
        r = run.clients([dd_argv(run.root / f) for f in self._files(large)])
        return throughput(sum(dd_bytes(e) for e in r.stderr), self._expected(large), r.wall)

    def on_http(self, run) -> dict:
        argvs = []
        for i, chunks in enumerate(self._chunks(run.session.data.large)):
            cfg = run.tmp / f"seq{i}.cfg"
            write_curl_config(cfg, [(run.chunk_url(ch["fid"]), None) for ch in chunks], False)
            argvs.append(["curl", "-K", str(cfg)])
        r = run.clients(argvs)
        nbytes = sum(ch["size"] for chunks in self._chunks(run.session.data.large) for ch in chunks)
        return {"bytes": nbytes, "mb_s": nbytes / r.wall / 1e6}

    def on_agent_cli(self, run) -> dict:
        chunks = self._chunks(run.session.data.large)
        r = run.read_fids([[c["fid"] for c in cl] for cl in chunks])
        nbytes = sum(c["size"] for cl in chunks for c in cl)
        return {"mb_s": nbytes / r.wall / 1e6, "bytes": nbytes}

    def verify(self, run) -> None:
        if self.readers == 1 and run.target.reads_cluster:
            large = run.session.data.large
            spot_check(run.root / large.seq_path, large.seq_blob, run.rep)

    def describe(self, s: dict) -> str:
        cpu = s.get("cpu_s_per_gib") or {}
        cpu_txt = " ".join(f"{k}={v:.2f}" for k, v in cpu.items() if v is not None)
        return f"{s['mb_s']:.0f} MB/s  cpu s/GiB: {cpu_txt}"


class RandRead(Workload):
    name = "rand4k"
    title = "4 KiB random O_DIRECT, QD1"
    unit = "IOPS"
    primary = "iops"
    description = ("seaweed-randread: pread 4 KiB at random aligned offsets of the seq file, "
                   "O_DIRECT, 1 thread, time-based; fresh mount, server page cache warm")
    datasets = ("large",)
    panels = (Panel("iops", "IOPS"), Panel("lat", "µs (p50 / p99)", kind="lat"))
    not_on = {"agent_cli": "the agent CLI starts one process (and UCX endpoint) per read: latency would be "
                           "exec cost"}

    def unsupported(self, target, session) -> str | None:
        if target.kind == "mount" and not session.has_binary(session.randread_bin):
            return f"{session.randread_bin} missing"
        return super().unsupported(target, session)

    def on_mount(self, run) -> dict:
        s = run.session
        secs = s.p["rand_seconds"]
        r = run.clients([randread_argv(s.randread_bin, run.root / s.data.large.seq_path, secs, run.rep + 1)],
                        extra_timeout=secs)
        return parse_randread(r.stdout[0])

    def on_http(self, run) -> dict:
        large = run.session.data.large
        rng = random.Random(run.rep + 1)
        entries = []
        for _ in range(run.session.p["curl_rand_ops"]):
            off = rng.randrange(large.seq_size // 4096) * 4096
            ch = next(x for x in large.seq_chunks if x["offset"] <= off < x["offset"] + x["size"])
            o = off - ch["offset"]
            entries.append((run.chunk_url(ch["fid"]), f"{o}-{o + 4095}"))
        cfg = run.tmp / "rand.cfg"
        write_curl_config(cfg, entries, True)
        r = run.clients([["curl", "-K", str(cfg)]])
        lat = parse_curl_latencies(r.stdout[0], 4096)
        return {**latency_stats(lat, r.wall), "bytes": len(lat) * 4096}

    def describe(self, s: dict) -> str:
        return (f"{s['iops']:.0f} IOPS p50 {s['p50_us']:.1f} p99 {s['p99_us']:.1f} "
                f"p99.9 {s['p999_us']:.1f} us")


class SmallFiles(Workload):
    name = "small"
    title = "small files (16 KiB)"
    unit = "files/s"
    primary = "files_s"
    description = ("open+read+close each of small_files files of 16 KiB in one process; "
                   "fresh mount (cold metadata and data), server page cache warm")
    datasets = ("small",)
    panels = (Panel("files_s", "files/s"),)

    def on_mount(self, run) -> dict:
        p = run.session.p
        r = run.clients([[sys.executable, "-c", SMALL_READER, str(run.root / "small"), str(p["small_files"])]])
        j = parse_small_reader(r.stdout[0])
        if j["bytes"] != p["small_files"] * p["small_size"]:
            raise H.HarnessError(f"small: read {j['bytes']} bytes, expected {p['small_files'] * p['small_size']}")
        return {"files": j["files"], "bytes": j["bytes"], "wall_s": j["seconds"], "files_s": j["files"] / j["seconds"]}

    def on_http(self, run) -> dict:
        p = run.session.p
        cfg = run.tmp / "small.cfg"
        write_curl_config(cfg, [(run.chunk_url(fid), None) for fid in run.session.data.small.fids], False)
        r = run.clients([["curl", "-K", str(cfg)]])
        return {"files": p["small_files"], "bytes": p["small_files"] * p["small_size"], "wall_s": r.wall,
                "files_s": p["small_files"] / r.wall}

    def on_agent_cli(self, run) -> dict:
        # one process per file costs ~15 ms: a subset is enough for files/s
        fids = run.session.data.small.fids[:AGENT_SMALL_FILES]
        r = run.read_fids([fids])
        return {"files": len(fids), "files_s": len(fids) / r.wall, "bytes": len(fids) * run.session.p["small_size"]}

    def describe(self, s: dict) -> str:
        return f"{s['files_s']:.0f} files/s"


class ListDir(Workload):
    name = "ls"
    title = "ls -lR big dir"
    unit = "s"
    primary = "seconds"
    higher_better = False
    description = "ls -lR of a directory with ls_entries entries; fresh mount"
    datasets = ("ls",)
    reads_data = False
    panels = (Panel("seconds", "seconds"),)
    not_on = {"agent_cli": "the agent serves needles, not directory listings"}

    def on_mount(self, run) -> dict:
        n = run.session.p["ls_entries"]
        r = run.clients([["ls", "-lR", str(run.root / "ls")]])
        lines = r.stdout[0].count("\n")
        if lines < n:
            raise H.HarnessError(f"ls -lR printed {lines} lines, expected >= {n}")
        return {"seconds": r.wall, "entries_s": n / r.wall}

    def on_http(self, run) -> dict:
        # the filer's JSON listing, paged (1000 per page) over one keep-alive connection, in process
        n_expected = run.session.p["ls_entries"]
        c = run.session.cluster
        t = time.monotonic()
        conn = http.client.HTTPConnection(c.host, c.filer_port, timeout=120)
        n, last = 0, ""
        try:
            while True:
                q = {"limit": 1000}
                if last:
                    q["lastFileName"] = last
                conn.request("GET", f"{ROOT}/ls/?" + urllib.parse.urlencode(q), headers={"Accept": "application/json"})
                j = json.loads(conn.getresponse().read())
                ents = j.get("Entries") or []
                n += len(ents)
                if not ents or not j.get("ShouldDisplayLoadMore"):
                    break
                last = j.get("LastFileName") or ents[-1]["FullPath"].rsplit("/", 1)[1]
        finally:
            conn.close()
        wall = time.monotonic() - t
        if n != n_expected:
            raise H.HarnessError(f"filer listing returned {n} entries, expected {n_expected}")
        return {"seconds": wall, "entries_s": n / wall, "wall_s": wall,
                "method": "python http.client, filer JSON listing, limit=1000 per page"}

    def describe(self, s: dict) -> str:
        return f"{s['seconds']:.3f} s ({s['entries_s']:.0f} entries/s)"


class Stream(Workload):
    name = "stream10g"
    title = "streaming 10x the seq file, peak daemon RSS"
    unit = "MiB"
    primary = "client_peak_rss_mib"
    higher_better = False
    description = ("dd bs=1M iflag=direct over the seq file STREAM_PASSES times in one fresh "
                   "mount (O_DIRECT: every byte passes through the daemon, 10 GiB at full "
                   "size); the client daemon's VmHWM afterwards; server page cache warm")
    datasets = ("large",)
    panels = (Panel("client_peak_rss_mib", "MiB",
                    hline=(OUR_RSS_BOUND_MIB, "bound: -cacheCapacityMB + -prefetchMB + 64 MiB")),
              Panel("mb_s", "MB/s (O_DIRECT)"))

    def unsupported(self, target, session) -> str | None:
        if target.kind != "mount" or not target.reads_cluster:
            return "memory of a mount daemon while streaming: not meaningful for this target"
        return None

    def on_mount(self, run) -> dict:
        large = run.session.data.large
        loop = (f'for i in $(seq {STREAM_PASSES}); do dd if="$0" of=/dev/null bs=1M iflag=direct '
                f'|| exit 1; done')
        r = run.clients([["sh", "-c", loop, str(run.root / large.seq_path)]], timeout_factor=2)
        return throughput(dd_bytes_total(r.stderr[0]), STREAM_PASSES * large.seq_size, r.wall)

    def finish_sample(self, run, sample: dict) -> None:
        peak = (sample.get("peak_rss_mib") or {}).get("client_daemon")
        if peak:
            sample["client_peak_rss_mib"] = peak
            if run.target.ours:
                sample["rss_bound_mib"] = OUR_RSS_BOUND_MIB
                sample["within_bound"] = peak <= OUR_RSS_BOUND_MIB

    def describe(self, s: dict) -> str:
        bound = f" (bound {s['rss_bound_mib']:.0f})" if s.get("rss_bound_mib") else ""
        return f"peak RSS {s.get('client_peak_rss_mib', 0):.0f} MiB{bound}, {s['mb_s']:.0f} MB/s"


class MetaWalk(Workload):
    name = "metawalk"
    title = "metadata walk of distinct files, peak daemon RSS"
    unit = "MiB"
    primary = "client_peak_rss_mib"
    higher_better = False
    description = ("walk walk_files distinct files in walk_dirs directories in order (stat, open, read "
                   "1 byte, close: a loader with a file list) in batches of walk_batch, with echo 2 > "
                   "drop_caches (dentries and inodes: the kernel forgets them) after each batch; fresh "
                   "mount; the daemon's VmRSS/VmHWM after every batch (rss_curve: [files walked, VmRSS "
                   "MiB, VmHWM MiB]) and its peak (VmHWM) at the end")
    datasets = ("walk",)
    panels = (Panel("client_peak_rss_mib", "MiB",
                    hline=(WALK_RSS_GOAL_MIB, f"goal of ours at 300,000 files: {WALK_RSS_GOAL_MIB} MiB")),
              Panel("rss_curve", "VmRSS MiB", kind="curve"),
              Panel("files_s", "files/s"))

    def unsupported(self, target, session) -> str | None:
        if target.kind != "mount" or not target.reads_cluster:
            return "memory of a mount daemon over a metadata walk: not meaningful for this target"
        return None

    @staticmethod
    def _point(pid: int, files: int) -> list:
        rss, hwm = proc_status_kb(pid, "VmRSS") or 0, proc_status_kb(pid, "VmHWM") or 0
        return [files, round(rss / 1024, 1), round(hwm / 1024, 1)]

    def on_mount(self, run) -> dict:
        p = run.session.p
        dirs, batch = p["walk_dirs"], p["walk_batch"]
        per_dir = p["walk_files"] // dirs
        files = per_dir * dirs
        pid = run.mount.proc.pid
        top = str(run.root / "walk")
        curve = [self._point(pid, 0)]
        seconds = 0.0
        for start in range(0, files, batch):
            n = min(batch, files - start)
            r = run.clients([[sys.executable, "-c", WALKER, top, str(per_dir), str(start), str(n)]])
            j = parse_small_reader(r.stdout[0])
            if j["errors"]:
                raise H.HarnessError(f"walk of files {start}..{start + n - 1}: {j['errors']} failed, first: "
                                     f"{j['first_error']}")
            seconds += j["seconds"]
            if not drop_caches(2):
                raise H.HarnessError("metawalk needs root: echo 2 > /proc/sys/vm/drop_caches failed")
            curve.append(self._point(pid, start + n))
        return {"files": files, "dirs": dirs, "batch": batch, "files_s": files / seconds,
                "end_rss_mib": curve[-1][1], "rss_curve": curve}

    def finish_sample(self, run, sample: dict) -> None:
        peak = (sample.get("peak_rss_mib") or {}).get("client_daemon")
        if peak:
            sample["client_peak_rss_mib"] = peak
            if run.target.ours and run.session.p["walk_files"] >= 300_000:
                sample["rss_goal_mib"] = WALK_RSS_GOAL_MIB
                sample["within_goal"] = peak <= WALK_RSS_GOAL_MIB

    def describe(self, s: dict) -> str:
        pts = s["rss_curve"]
        mid = pts[len(pts) // 2]
        return (f"peak RSS {s.get('client_peak_rss_mib', 0):.0f} MiB after {s['files']} files "
                f"(VmRSS {pts[1][1]:.0f} MiB after {pts[1][0]}, {mid[1]:.0f} after {mid[0]}, "
                f"{pts[-1][1]:.0f} at the end), {s['files_s']:.0f} files/s")


# The registry, in report and plot order. A new workload: a class above and one line here.
WORKLOADS: dict[str, Workload] = {w.name: w for w in [
    SeqRead("seq1", 1, cold=True),
    SeqRead("seq4", 4, cold=True),
    SeqRead("seq1_warm", 1, cold=False),
    SeqRead("seq4_warm", 4, cold=False),
    RandRead(),
    SmallFiles(),
    ListDir(),
    Stream(),
    MetaWalk(),
]}

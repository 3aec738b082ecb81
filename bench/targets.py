"""The targets: what a workload reads through. Each is one object: whether it can run on this
machine, and the frame of one measurement (fresh mount or direct client, the processes whose CPU
and memory are counted, what is checked afterwards). Kinds: "mount" (a mounted directory:
seaweed-rdma-mount variants, weed mount variants, nullfs), "http" (curl against the volume
server), "agent_cli" (the agent's read CLI); a workload runs on a kind through its on_KIND."""

from __future__ import annotations

import http.client
import os
import re
import shlex
import shutil
import tempfile
from pathlib import Path

import harness as H

from .clients import ClientResult, combine, run_clients
from .config import GiB
from .datasets import ROOT
from .report import note_load
from .system import bdi_readahead, cpu_seconds, drop_caches, proc_status_kb, reset_peak_rss, set_readahead

# The agents the run can start beside the volume server, by variant: (process name, extra flags).
# A target names the variant it reads through in `agent`.
AGENT_VARIANTS = {
    "default": ("rdma-agent", []),
    # UCX peer error handling off on both sides: UCX 1.13 then uses cma on one host
    "cma": ("rdma-agent-cma", ["-ucx.peerErrorHandling=false"]),
}


# -- what a workload sees of one measurement ----------------------------------------------------

class Run:
    """One measurement: the workload runs client programs through clients(), which raises when
    one fails and keeps their results for the target's accounting."""

    failure = "client failed"

    def __init__(self, session, target: "Target", workload, rep: int):
        self.session, self.target, self.workload, self.rep = session, target, workload, rep
        self.results: list[ClientResult] = []

    def _client_kw(self) -> dict:
        return {}

    def _failure_detail(self) -> str:
        return ""

    def clients(self, argvs: list[list[str]], extra_timeout: float = 0.0, timeout_factor: float = 1.0) -> ClientResult:
        r = run_clients(argvs, self.session.timeout * timeout_factor + extra_timeout, **self._client_kw())
        self.results.append(r)
        if not r.ok:
            raise H.HarnessError(f"{self.failure}: {r.error()}{self._failure_detail()}")
        return r

    def result(self) -> ClientResult | None:
        return combine(self.results)


class MountRun(Run):
    def __init__(self, session, target, workload, rep, mount: H.Mount):
        super().__init__(session, target, workload, rep)
        self.mount = mount
        self.root: Path = mount.path

    def _client_kw(self) -> dict:
        # on timeout, unmounting fails the blocked reads before the clients are killed
        return {"on_timeout": self.mount.stop, "env": self.target.client_env(self.session)}

    def _failure_detail(self) -> str:
        return f"\n--- {self.target.name} log ---\n{self.mount.log(30)}"


class HttpRun(Run):
    failure = "curl failed"

    def __init__(self, session, target, workload, rep, tmp: Path):
        super().__init__(session, target, workload, rep)
        self.tmp = tmp

    def chunk_url(self, fid: str) -> str:
        return f"{self.session.cluster.volume_url(0)}/{fid}"


class AgentCliRun(Run):
    failure = "agent read failed"

    def read_fids(self, lists: list[list[str]]) -> ClientResult:
        """One shell per list, running the agent CLI once per fid, all lists in parallel."""
        s = self.session
        agent = f"127.0.0.1:{s.agents['default'].port}"
        scripts = []
        for fids in lists:
            body = "set -e\n" + "".join(
                f"{shlex.quote(s.agent_bin)} read -agent={agent} -fid={shlex.quote(f)} >/dev/null\n" for f in fids)
            scripts.append(["bash", "-c", body])
        return self.clients(scripts)


def base_sample(rep: int, r: ClientResult | None) -> dict:
    sample = {"rep": rep}
    if r is not None:
        sample["wall_s"] = r.wall
        sample["client_cpu_s"] = r.user + r.sys
    return sample


def per_gib(cpu_s: dict, nbytes: int | None) -> dict | None:
    if not nbytes:
        return None
    return {k: (v / (nbytes / GiB)) if v is not None else None for k, v in cpu_s.items()}


# -- targets ------------------------------------------------------------------------------------

class Target:
    name = ""
    description = ""
    color = "#333333"
    kind = ""
    ours = False            # a seaweed-rdma-mount variant: compared against the baselines
    agent: str | None = None  # the AGENT_VARIANTS entry it reads through
    reads_cluster = True    # False: serves made-up data (nullfs)

    def unavailable(self, s) -> str | None:
        """Why this target cannot run on this machine/build, or None."""
        return None

    def info(self, s) -> dict:
        """Extra fields of the JSON's "targets" entry."""
        return {}

    def measure(self, s, w, rep: int) -> dict:
        raise NotImplementedError


class MountTarget(Target):
    kind = "mount"

    def make_mount(self, s) -> tuple[H.Mount, int | None]:
        """The mount (not started yet) and the port of its Prometheus /metrics, if any."""
        raise NotImplementedError

    def after_mount(self, s, m: H.Mount, info: dict) -> None:
        pass

    def client_env(self, s) -> dict | None:
        """Environment added to the client programs (e.g. LD_PRELOAD)."""
        return None

    def pids(self, s, m: H.Mount) -> dict:
        pids = {"client_daemon": m.proc.pid if m and m.proc else None}
        if self.reads_cluster:
            pids["weed_server"] = s.cluster.server.pid
        if self.agent and s.agents.get(self.agent):
            pids["agent"] = s.agents[self.agent].proc.pid
        return pids

    def measure(self, s, w, rep: int) -> dict:
        if not w.cold and self.reads_cluster:
            s.warm_server()
        if w.cold:
            drop_caches()
        m, metrics_port = self.make_mount(s)
        m.start()
        info: dict = {}
        try:
            self.after_mount(s, m, info)
            info["bdi_read_ahead_kb"] = bdi_readahead(m.path)
            os.stat(m.path)  # the mount answers before the clock starts
            pids = self.pids(s, m)
            for k, pid in pids.items():
                if k != "client_daemon":
                    reset_peak_rss(pid)
            cpu0 = {k: cpu_seconds(pid) for k, pid in pids.items()}
            met0 = scrape_read_bytes(metrics_port)
            run = MountRun(s, self, w, rep, m)
            metrics = w.on_mount(run)
            cpu1 = {k: cpu_seconds(pid) for k, pid in pids.items()}
            met1 = scrape_read_bytes(metrics_port)
            hwm = {k: proc_status_kb(pid, "VmHWM") for k, pid in pids.items()}
            anon = {k: proc_status_kb(pid, "RssAnon") for k, pid in pids.items()}

            r = run.result()
            sample = base_sample(rep, r)
            sample.update(metrics)
            sample["cpu_s"] = {k: (cpu1[k] - cpu0[k]) if cpu1[k] is not None and cpu0[k] is not None else None
                               for k in pids}
            if gib := per_gib(sample["cpu_s"], sample.get("bytes")):
                sample["cpu_s_per_gib"] = gib
            sample["peak_rss_mib"] = {k: (v / 1024 if v else None) for k, v in hwm.items()}
            w.finish_sample(run, sample)
            # VmHWM counts mapped file pages too (the agent maps the .dat files): RssAnon is the heap
            sample["rss_anon_mib_end"] = {k: (v / 1024 if v else None) for k, v in anon.items()}
            if met0 is not None and met1 is not None:
                sample["read_bytes_by_transport"] = {k: met1.get(k, 0) - met0.get(k, 0) for k in set(met0) | set(met1)}
                if self.agent and w.reads_data and not sample["read_bytes_by_transport"].get("rdma"):
                    sample["warning"] = "no bytes went over rdma (fell back to http?)"
            sample["bdi_read_ahead_kb"] = info.get("bdi_read_ahead_kb")
            note_load(sample, r)
            w.verify(run)
            return sample
        finally:
            m.stop()


def scrape_read_bytes(port: int | None) -> dict | None:
    """seaweed_mount_read_bytes_total by transport from the mount's /metrics."""
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


class OursMount(MountTarget):
    """seaweed-rdma-mount on /bench with -metricsPort (bytes per transport are recorded), through
    an agent variant (-rdma.agents=VOLUME=AGENT) or with the given flags only.
    requires: further files that must exist (e.g. a preload library); client_env: environment
    for the client programs, a function of the session."""

    ours = True

    def __init__(self, name: str, description: str, color: str, agent: str | None = None,
                 mount_args: tuple[str, ...] = (), requires=(), client_env=None, binary=None):
        self.name, self.description, self.color, self.agent = name, description, color, agent
        self.mount_args = list(mount_args)
        self.requires = requires
        self._client_env = client_env
        self._binary = binary

    def binary(self, s) -> str | None:
        """The mount binary: the session's, or what `binary` (a function of the session) names."""
        return self._binary(s) if self._binary else s.mount_bin

    def unavailable(self, s) -> str | None:
        binary = self.binary(s)
        if not binary:
            return "no binary given (BENCH_BEFORE_MOUNT_BIN)"
        if not s.has_binary(binary):
            return f"mount binary {binary} missing"
        if self.agent and not s.has_binary(s.agent_bin):
            return f"agent binary {s.agent_bin} missing (not built yet)"
        for f in self.requires(s) if callable(self.requires) else self.requires:
            if not os.path.exists(f):
                return f"{f} missing"
        return None

    def client_env(self, s) -> dict | None:
        return self._client_env(s) if self._client_env else None

    def make_mount(self, s) -> tuple[H.Mount, int | None]:
        c = s.cluster
        port = H.free_port_pair()
        args = ["-filer.path=" + ROOT, f"-metricsPort={port}"]
        if self.agent:
            a = s.agents[self.agent]
            args += ["-rdma.enabled=true", f"-rdma.agents=127.0.0.1:{c.volume_ports[0]}=127.0.0.1:{a.port}"]
        args += self.mount_args
        return H.Mount(c, args, binary=self.binary(s), rdma=self.agent is not None, name=self.name), port


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


class WeedMountTarget(MountTarget):
    """`weed mount` of /bench (the cluster's weed binary); tuned: --weed-tuned-args may replace
    the flags, and the bdi readahead is raised after mounting."""

    def __init__(self, name: str, description: str, color: str, tuned: bool = False):
        self.name, self.description, self.color, self.tuned = name, description, color, tuned

    def args(self, s) -> list[str]:
        if not self.tuned:
            return []
        return shlex.split(s.args.weed_tuned_args) if s.args.weed_tuned_args is not None else WEED_TUNED_ARGS

    def unavailable(self, s) -> str | None:
        return None if s.has_binary(H.WEED_BIN) else f"weed binary {H.WEED_BIN} missing"

    def make_mount(self, s) -> tuple[H.Mount, int | None]:
        return WeedMount(s.cluster, ["-filer.path=" + ROOT, *self.args(s)], name=self.name), None

    def after_mount(self, s, m, info) -> None:
        if self.tuned and WEED_TUNED_READAHEAD_KB:
            err = set_readahead(m.path, WEED_TUNED_READAHEAD_KB)
            if err:
                info["readahead_error"] = err

    def info(self, s) -> dict:
        if not self.tuned:
            return {}
        return {"tuning": {"args": self.args(s), "bdi_read_ahead_kb": WEED_TUNED_READAHEAD_KB,
                           "notes": WEED_TUNED_NOTES}}


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


class NullfsTarget(MountTarget):
    """bench/nullfs: the data sets' shapes served from a preallocated buffer: the FUSE ceiling."""

    name = "nullfs"
    description = "seaweed-nullfs: FUSE ceiling (fuse_reply_buf from a preallocated buffer)"
    color = "#7f7f7f"
    reads_cluster = False

    def unavailable(self, s) -> str | None:
        return None if s.has_binary(s.nullfs_bin) else f"{s.nullfs_bin} missing (build bench/)"

    def make_mount(self, s) -> tuple[H.Mount, int | None]:
        return NullMount(s.cluster, s.nullfs_bin, s.data.nullfs_sets(), name=self.name), None

    def info(self, s) -> dict:
        return {"config": "libfuse3 low-level, fuse_session_loop_mt (16 threads, 4 idle), async_read, "
                          "readdirplus, max_readahead 1 MiB, bdi read_ahead_kb 1024, no direct_io, keep_cache off"}


class CurlTarget(Target):
    """curl -K over the chunk URLs of the volume server (keep-alive); listings from the filer."""

    name = "curl"
    description = "curl GETs of the chunks from the volume server (keep-alive); filer JSON listing for ls"
    color = "#2ca02c"
    kind = "http"

    def unavailable(self, s) -> str | None:
        return None if shutil.which("curl") else "curl not installed"

    def measure(self, s, w, rep: int) -> dict:
        c = s.cluster
        tmp = Path(tempfile.mkdtemp(prefix="curl-", dir=c.dir))
        try:
            pids = {"weed_server": c.server.pid}
            if w.cold:
                drop_caches()
            elif w.reads_data:
                s.warm_server()
            reset_peak_rss(c.server.pid)
            cpu0 = {k: cpu_seconds(v) for k, v in pids.items()}
            run = HttpRun(s, self, w, rep, tmp)
            metrics = w.on_http(run)
            cpu1 = {k: cpu_seconds(v) for k, v in pids.items()}
            r = run.result()
            sample = base_sample(rep, r)
            sample.update(metrics)
            sample["cpu_s"] = {k: cpu1[k] - cpu0[k] for k in pids}
            if r is not None:
                sample["cpu_s"]["client"] = r.user + r.sys
            if gib := per_gib(sample["cpu_s"], sample.get("bytes")):
                sample["cpu_s_per_gib"] = gib
            sample["peak_rss_mib"] = {"weed_server": (proc_status_kb(c.server.pid, "VmHWM") or 0) / 1024}
            if r is not None:
                sample["peak_rss_mib"]["client"] = r.maxrss_kb / 1024
            note_load(sample, r)
            return sample
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class AgentCliTarget(Target):
    """seaweed-rdma-agent read, one process per chunk (includes exec + UCX connect per chunk)."""

    name = "agent"
    description = "seaweed-rdma-agent read CLI, one process per chunk"
    color = "#9467bd"
    kind = "agent_cli"
    agent = "default"

    def unavailable(self, s) -> str | None:
        return None if s.has_binary(s.agent_bin) else f"agent binary {s.agent_bin} missing (not built yet)"

    def measure(self, s, w, rep: int) -> dict:
        proc = s.agents["default"].proc
        pids = {"agent": proc.pid}
        if w.cold:
            drop_caches()
        else:
            s.warm_server()
        reset_peak_rss(proc.pid)
        cpu0 = {k: cpu_seconds(v) for k, v in pids.items()}
        run = AgentCliRun(s, self, w, rep)
        metrics = w.on_agent_cli(run)
        cpu1 = {k: cpu_seconds(v) for k, v in pids.items()}
        r = run.result()
        sample = base_sample(rep, r)
        sample.update(metrics)
        sample["cpu_s"] = {k: cpu1[k] - cpu0[k] for k in pids}
        sample["cpu_s"]["client"] = r.user + r.sys
        sample["cpu_s_per_gib"] = per_gib(sample["cpu_s"], sample["bytes"])
        sample["peak_rss_mib"] = {"agent": (proc_status_kb(proc.pid, "VmHWM") or 0) / 1024}
        sample["note"] = "one CLI process per chunk: includes exec + UCX connection setup per chunk"
        note_load(sample, r)
        return sample


# The registry, in report and plot order. A new target: one line here (or a small class above).
TARGETS: dict[str, Target] = {t.name: t for t in [
    OursMount("ours_rdma", "seaweed-rdma-mount, reads via seaweed-rdma-agent (UCX)", "#d62728", agent="default"),
    OursMount("ours_rdma_cma",
              "seaweed-rdma-mount + a second agent, both with UCX peer error handling off "
              "(-rdma.peerErrorHandling=false): UCX 1.13 then uses cma on one host, the mount pulls "
              "the bytes from the agent's mapped .dat itself (one-sided, as RDMA READ would)",
              "#8c564b", agent="cma", mount_args=("-rdma.peerErrorHandling=false",)),
    OursMount("ours_preload",
              "the agent path through libseaweed-rdma-preload.so in the client programs (LD_PRELOAD): "
              "the readers fetch the bytes from the agent over UCX themselves, FUSE serves the rest "
              "(docs/PRELOAD.md)", "#bcbd22", agent="default",
              requires=lambda s: [str(s.bin.parent / "lib" / "libseaweed-rdma-preload.so")],
              client_env=lambda s: {"LD_PRELOAD": str(s.bin.parent / "lib" / "libseaweed-rdma-preload.so")}),
    OursMount("ours_preload_cma",
              "as ours_preload through the cma agent (as ours_rdma_cma): the preload where the transport "
              "is faster than FUSE, as RDMA is; compare with ours_rdma_cma", "#17becf", agent="cma",
              mount_args=("-rdma.peerErrorHandling=false",),
              requires=lambda s: [str(s.bin.parent / "lib" / "libseaweed-rdma-preload.so")],
              client_env=lambda s: {"LD_PRELOAD": str(s.bin.parent / "lib" / "libseaweed-rdma-preload.so")}),
    # HTTP, as ours_http: the agent's wire protocol may differ between builds (v2 in issue 10), and an
    # earlier mount that cannot speak to this agent would measure its fallback.
    OursMount("ours_before", "an earlier build of seaweed-rdma-mount over HTTP, as ours_http (the binary "
              "BENCH_BEFORE_MOUNT_BIN names; skipped without it): the before column of a change", "#8c564b",
              mount_args=("-rdma.enabled=false",), binary=lambda s: os.environ.get("BENCH_BEFORE_MOUNT_BIN")),
    OursMount("ours_http", "seaweed-rdma-mount, -rdma.enabled=false (HTTP to the volume server)", "#ff7f0e",
              mount_args=("-rdma.enabled=false",)),
    OursMount("ours_http_noverify", "as ours_http with -verifyReads=false: what checking every byte against "
              "its needle's CRC-32C costs (issue 10)", "#ffbb78", mount_args=("-rdma.enabled=false", "-verifyReads=false")),
    WeedMountTarget("weed_default", "weed mount, default flags", "#1f77b4"),
    WeedMountTarget("weed_tuned", "weed mount, read-side tuning", "#17becf", tuned=True),
    CurlTarget(),
    NullfsTarget(),
    AgentCliTarget(),
]}
# what every `ours` target is compared with (JSON "ratios"), in this order
BASELINES = ("weed_default", "weed_tuned", "nullfs", "curl", "ours_http")

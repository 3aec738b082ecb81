"""One benchmark run: the session (cluster, agents, data sets, binaries) and the loop over
workloads x targets x repetitions with retries of contended runs."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import harness as H

from .clients import dd_bytes
from .config import SIZES, GiB, MiB, client_timeout
from .datasets import DataSets
from .report import contended, median, summarize
from .system import drop_caches, loadavg, log, port_open, wait_idle
from .targets import AGENT_VARIANTS, Target
from .workloads import Workload


@dataclass
class AgentProc:
    proc: H.Proc
    port: int
    metrics_port: int


class Session:
    """Everything the targets and workloads of one run share."""

    def __init__(self, args, targets: list[Target], workloads: list[Workload]):
        self.args = args
        self.size = args.size
        self.p = dict(SIZES[args.size])
        if args.repeat:
            self.p["repeat"] = args.repeat
        if args.rand_seconds:
            self.p["rand_seconds"] = args.rand_seconds
        self.timeout = client_timeout(self.size)
        self.bin = Path(args.build_dir).resolve() / "bin"
        self.mount_bin = str(self.bin / "seaweed-rdma-mount")
        self.agent_bin = str(self.bin / "seaweed-rdma-agent")
        self.nullfs_bin = str(self.bin / "seaweed-nullfs")
        self.randread_bin = str(self.bin / "seaweed-randread")
        self.targets = targets
        self.workloads = workloads
        self.cluster: H.Cluster | None = None
        self.agents: dict[str, AgentProc] = {}
        self.data = DataSets(self.p, {d for w in workloads for d in w.datasets})
        self.ceilings: dict = {}
        self.target_info: dict[str, dict] = {}   # the JSON's "targets"
        self.results: dict[str, dict] = {w.name: {} for w in workloads}
        self.skipped: list[dict] = []
        self.notes: list[str] = []
        self.waited = 0.0
        self.started = dt.datetime.now(dt.timezone.utc)
        self.loadavg_start = loadavg()

    @staticmethod
    def has_binary(path: str) -> bool:
        return os.access(path, os.X_OK)

    def volume_dir(self) -> Path:
        return self.cluster.dir / "data"

    def warm_server(self) -> None:
        """Puts the volume files in the page cache."""
        for f in sorted(self.volume_dir().glob("*.dat")):
            with open(f, "rb", buffering=0) as fh:
                while fh.read(8 * MiB):
                    pass

    # -- availability ---------------------------------------------------------------------------
    def check_targets(self, all_targets: list[Target]) -> None:
        selected = {t.name for t in self.targets}
        for t in all_targets:
            reason = t.unavailable(self) if t.name in selected else "not selected (--targets)"
            self.target_info[t.name] = {"description": t.description, "available": reason is None,
                                        "skipped_reason": reason}
        if not self.has_binary(self.randread_bin):
            self.notes.append(f"{self.randread_bin} missing: rand4k skipped on mount targets")

    def available(self, t: Target) -> bool:
        return self.target_info[t.name]["available"]

    # -- cluster, data, agents ------------------------------------------------------------------
    def start_cluster(self) -> None:
        log("starting cluster (weed server)")
        self.cluster = H.Cluster(name="bench", volume_size_limit_mb=1024, volume_max=100)
        self.cluster.start()
        c = self.cluster
        log(f"cluster up: filer {c.filer_addr}, volume {c.volume_url(0)}, dir {c.dir}")

    def upload(self) -> None:
        self.data.upload(self.cluster)
        # write back the freshly uploaded volume files so drop_caches can evict them
        with contextlib.suppress(Exception):
            subprocess.run(["sync", "-f", str(self.volume_dir())], timeout=120)

    def start_agents(self) -> None:
        for variant in AGENT_VARIANTS:
            users = [t for t in self.targets if t.agent == variant and self.available(t)]
            if users:
                self._spawn_agent(variant, users)

    def _spawn_agent(self, variant: str, users: list[Target]) -> None:
        """Starts an agent beside the volume server; on failure marks its users unavailable."""
        name, extra = AGENT_VARIANTS[variant]
        c = self.cluster
        port, metrics_port = H.free_port_pair(), H.free_port_pair()
        argv = [self.agent_bin, f"-dir={self.volume_dir()}", f"-volumeServer=127.0.0.1:{c.volume_ports[0]}",
                "-ip=127.0.0.1", f"-port={port}", *extra, f"-metricsPort={metrics_port}"]
        log(f"starting {name}: " + shlex.join(argv))
        proc = c.spawn(name, argv)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.alive():
            if port_open(port):
                self.agents[variant] = AgentProc(proc, port, metrics_port)
                return
            time.sleep(0.1)
        reason = f"{name} did not come up (rc={proc.returncode}): {proc.tail(20)[-600:]}"
        proc.stop()
        for t in users:
            self.target_info[t.name].update(available=False, skipped_reason=reason)
        log(reason)

    def stop(self) -> None:
        if self.cluster:
            log("stopping cluster")
            for a in self.agents.values():
                a.proc.stop()
            self.cluster.stop()

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

    # -- the loop -------------------------------------------------------------------------------
    def skip(self, t: Target, w: Workload, reason: str) -> None:
        self.skipped.append({"target": t.name, "workload": w.name, "reason": reason})
        self.results[w.name][t.name] = {"skipped": reason, "samples": []}
        log(f"{w.name:6s} {t.name:12s} skipped: {reason}")

    def _wait_idle(self, budget: float) -> float:
        """Waits for a quiet machine within this workload x target's budget; returns what is left."""
        a = self.args
        if budget > 0 and self.waited < a.wait_idle_total:
            t0 = time.monotonic()
            wait_idle(min(budget, a.wait_idle_total - self.waited), window=0.5)
            spent = time.monotonic() - t0
            budget -= spent
            self.waited += spent
        return budget

    def run_all(self) -> None:
        n = self.p["repeat"]
        for w in self.workloads:
            for t in self.targets:
                if not self.available(t):
                    self.skip(t, w, self.target_info[t.name]["skipped_reason"])
                    continue
                why = w.unsupported(t, self)
                if why:
                    self.skip(t, w, why)
                    continue
                entry = self.results[w.name].setdefault(t.name, {"samples": [], "errors": []})
                entry.setdefault("errors", [])
                entry.setdefault("discarded_contended", [])
                budget = self.args.wait_idle
                for rep in range(n):
                    budget = self._measure_rep(t, w, rep, n, entry, budget)
                    if len(entry["errors"]) >= 2 and not entry["samples"]:
                        log(f"{w.name:6s} {t.name:12s} giving up after 2 failures")
                        break
                entry["median"] = summarize(w.primary, entry["samples"])

    def _measure_rep(self, t: Target, w: Workload, rep: int, n: int, entry: dict, budget: float) -> float:
        """One repetition, measured again (up to --retry-contended times) while other processes
        disturb it. Records the sample or the error in `entry`; returns the wait budget left."""
        tag = f"{w.name:6s} {t.name:12s} rep {rep + 1}/{n}"
        for attempt in range(1 + self.args.retry_contended):
            budget = self._wait_idle(budget)
            try:
                s = t.measure(self, w, rep)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # noqa: BLE001 - record and go on with the next run
                msg = f"{type(e).__name__}: {e}"
                entry["errors"].append({"rep": rep, "error": msg[-3000:]})
                log(f"{tag}: ERROR {msg[:300]}")
                return budget
            s["attempt"] = attempt
            if contended(s) and attempt < self.args.retry_contended:
                entry["discarded_contended"].append(s)
                log(f"{tag}: {w.describe(s)}  [other processes used {s['other_cpu_s']:.2f} CPU s: measuring again]")
                continue
            entry["samples"].append(s)
            log(f"{tag}: {w.describe(s)}"
                + (f"  [contended: other processes used {s['other_cpu_s']:.2f} CPU s]" if contended(s) else ""))
            return budget
        return budget

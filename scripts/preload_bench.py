#!/usr/bin/env python3
"""Side-by-side measurement of the preload library (issue 12 goals) until bench/ takes targets as
a package: one cluster, one agent, one mount; every workload on FUSE-through-the-agent and on
the preload (same agent, same run), plus `seaweed-rdma-agent bench` as the ceiling.

  seq1    1 GiB, 1 reader (dd bs=1M), client cold (FUSE pages dropped with fadvise), server warm;
          also CPU seconds per GiB of the reader (with the preload's threads) + the mount daemon
  seq4    4 readers, 4 files of 256 MiB, in parallel
  rand4k  4 KiB random preads QD1 (bench/tools/randread.c; O_DIRECT on FUSE), p50/p99
  agent   seaweed-rdma-agent bench over the 1 GiB file's fids, whole needles: 1 thread (the
          ceiling of seq1) and 4 threads (of seq4)

  .venv/bin/python scripts/preload_bench.py [--repeat 3] [--size-mb 1024] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "integration"))
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
from harness import MiB, Cluster, RandomBlob  # noqa: E402
from test_rdma import AGENT_BIN, Agent, RdmaMount, volume_server_key  # noqa: E402

PRELOAD = str(REPO / "build" / "lib" / "libseaweed-rdma-preload.so")
RANDREAD = str(REPO / "build" / "bin" / "seaweed-randread")


def drop_pages(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def dd_argv(path: str) -> list[str]:
    return ["dd", f"if={path}", "of=/dev/null", "bs=1M", "status=none"]


def proc_cpu(pid: int) -> float:
    """utime + stime of a process (all its threads), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


LAST_CPU = {"readers": 0.0, "mount": 0.0}


def timed_parallel(argvs: list[list[str]], env: dict | None, mount_pid: int | None = None) -> float:
    """Wall seconds; LAST_CPU gets the readers' CPU seconds (with the preload's threads) and the
    mount daemon's over the same interval (the CPU figures hold up better on a busy machine)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    m0 = proc_cpu(mount_pid) if mount_pid else 0.0
    t0 = time.monotonic()
    procs = [subprocess.Popen(a, env=env) for a in argvs]
    for p in procs:
        if p.wait() != 0:
            raise RuntimeError(f"{p.args} exited {p.returncode}")
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU["readers"] = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    LAST_CPU["mount"] = (proc_cpu(mount_pid) - m0) if mount_pid else 0.0
    return wall


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--rand-seconds", type=float, default=5.0)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    size = args.size_mb * MiB
    quarter = size // 4
    preload_env = dict(os.environ, LD_PRELOAD=PRELOAD)
    results: dict[str, list] = {k: [] for k in ("seq1_fuse", "seq1_preload", "seq4_fuse", "seq4_preload",
                                                 "agent_bench", "agent_bench4", "rand_fuse_p50", "rand_preload_p50",
                                                 "rand_fuse_p99", "rand_preload_p99", "cpu_s_per_gib_fuse",
                                                 "cpu_s_per_gib_preload")}
    with Cluster(name="preload-bench") as c:
        c.put("/b/seq", RandomBlob(1, size), maxMB=4)
        for i in range(4):
            c.put(f"/b/q{i}", RandomBlob(10 + i, quarter), maxMB=4)
        a = Agent(c, name="agent-bench")
        a.start()
        try:
            with RdmaMount(c, {volume_server_key(c): a.address}, name="bench-mount") as m:
                seq, quarters = str(m.p("/b/seq")), [str(m.p(f"/b/q{i}")) for i in range(4)]
                mpid = m.proc.pid
                timed_parallel([dd_argv(p) for p in [seq, *quarters]], None)  # server warm
                fids = [ch["file_id"] if "file_id" in ch else ch.get("fileId") for ch in c.chunks_of("/b/seq")]
                with tempfile.NamedTemporaryFile("w", suffix=".fids", delete=False) as f:
                    f.write("\n".join(x for x in fids if x) + "\n")
                    fids_file = f.name
                for rep in range(args.repeat):
                    drop_pages(seq)
                    gib = size / (1 << 30)
                    results["seq1_fuse"].append(size / timed_parallel([dd_argv(seq)], None, mpid) / 1e6)
                    results["cpu_s_per_gib_fuse"].append((LAST_CPU["readers"] + LAST_CPU["mount"]) / gib)
                    results["seq1_preload"].append(size / timed_parallel([dd_argv(seq)], preload_env, mpid) / 1e6)
                    results["cpu_s_per_gib_preload"].append((LAST_CPU["readers"] + LAST_CPU["mount"]) / gib)
                    for p in quarters:
                        drop_pages(p)
                    results["seq4_fuse"].append(size / timed_parallel([dd_argv(p) for p in quarters], None) / 1e6)
                    results["seq4_preload"].append(
                        size / timed_parallel([dd_argv(p) for p in quarters], preload_env) / 1e6)
                    for key, threads in (("agent_bench", 1), ("agent_bench4", 4)):
                        r = subprocess.run([AGENT_BIN, "bench", f"-agent={a.address}", f"-fidsFile={fids_file}",
                                            "-rounds=1", f"-threads={threads}"], capture_output=True, text=True)
                        try:
                            results[key].append(json.loads(r.stdout.strip().splitlines()[-1])["GBps"] * 1000)
                        except (ValueError, IndexError, KeyError):
                            print("agent bench output:", (r.stdout + r.stderr).strip()[-400:], flush=True)
                    for name, env, extra in (("fuse", None, []), ("preload", preload_env, [])):
                        r = subprocess.run([RANDREAD, seq, "-t", str(args.rand_seconds), *extra], env=env,
                                           capture_output=True, text=True, check=True)
                        j = json.loads(r.stdout)
                        results[f"rand_{name}_p50"].append(j["p50_us"])
                        results[f"rand_{name}_p99"].append(j["p99_us"])
                    print(f"rep {rep}: " + ", ".join(f"{k}={v[-1]:.1f}" for k, v in results.items()), flush=True)
                os.unlink(fids_file)
        finally:
            a.stop()
    med = {k: statistics.median(v) for k, v in results.items() if v}
    ratios = {
        "seq1_preload_over_fuse": med["seq1_preload"] / med["seq1_fuse"],
        "seq1_preload_over_agent_bench": med["seq1_preload"] / med["agent_bench"],
        "seq4_preload_over_fuse": med["seq4_preload"] / med["seq4_fuse"],
        "seq4_preload_over_agent_bench4": med["seq4_preload"] / med["agent_bench4"],
        "rand_p50_preload_over_fuse": med["rand_preload_p50"] / med["rand_fuse_p50"],
    }
    report = {"samples": results, "medians": med, "ratios": ratios, "size_bytes": size,
              "when": time.strftime("%Y-%m-%dT%H:%M:%S"), "load": os.getloadavg()}
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Metadata memory benchmark: the mount's RSS while a loader walks many distinct files.

Starts a throw-away cluster (integration/harness.py), creates FILES entries in DIRS directories
under /walk (gRPC CreateEntry; each entry has one chunk pointing at one of a few real 4 KiB
needles, so opening and reading goes through the whole read path), then for each target mounts
the filer and walks every file the way a training loader with a file list does: stat, open,
read 1 byte, close, with `echo 2 > /proc/sys/vm/drop_caches` (dentries and inodes: the kernel
sends FORGETs) after every BATCH files. A sampler thread records the mount's VmRSS (the curve)
and VmHWM (the peak) of the daemon.

  export PYTHONPATH=integration GRPC_ENABLE_FORK_SUPPORT=false
  .venv/bin/python bench/metadata_walk.py                        # 300,000 files, 300 dirs
  .venv/bin/python bench/metadata_walk.py --files 20000 --dirs 20 --targets ours
  .venv/bin/python bench/metadata_walk.py --targets ours,before,weed --before-bin /tmp/old-mount \
      --stop-above-mib 200 --max-files weed=100000

The same walk is the `metawalk` workload of the bench package (`python -m bench --workloads
metawalk`: every mount target in one run, the curve in its JSON and PNG); this script shares its
tree (bench/datasets.py create_walk_tree) and adds what the package does not: a `before` binary,
--stop-above-mib and --max-files, and a curve sampled every 0.25 s.

targets: ours (build/bin/seaweed-rdma-mount, default flags, HTTP), before (--before-bin, the same
flags), weed (weed mount, default flags). Output: JSON (--out, default
bench/results/metadata-walk-<date>.json) with per target the peak RSS, files/s and the RSS curve,
and a PNG beside it when matplotlib is available. Needs root (drop_caches, FUSE).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import harness as H

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script: the bench package is beside this file

from bench.datasets import create_walk_tree  # noqa: E402


def proc_status_kb(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def drop_dentries_and_inodes() -> None:
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2")


class WeedMount(H.Mount):
    """`weed mount` with default flags and a fresh -cacheDir."""

    def __init__(self, cluster):
        super().__init__(cluster, [], binary=H.WEED_BIN, name="weed-mount")
        self.cache_dir = None

    def argv(self):
        self.cache_dir = Path(tempfile.mkdtemp(prefix="weedcache-", dir=self.cluster.dir))
        return [H.WEED_BIN, "mount", f"-filer={self.filer}", f"-dir={self.path}",
                f"-cacheDir={self.cache_dir}", f"-localSocket={self.cache_dir}/mount.sock"]

    def stop(self, *a, **kw):
        rc = super().stop(*a, **kw)
        if self.cache_dir:
            shutil.rmtree(self.cache_dir, ignore_errors=True)
            self.cache_dir = None
        return rc


def create_dataset(c: H.Cluster, files: int, dirs: int, threads: int = 8) -> None:
    t0 = time.monotonic()
    create_walk_tree(c, "/walk", files, dirs, threads)
    print(f"created {files // dirs * dirs} entries in {dirs} dirs in {time.monotonic() - t0:.0f} s", flush=True)


def walk(mnt: Path, pid: int, files: int, dirs: int, batch: int, max_files: int = 0,
         stop_above_mib: float = 0) -> dict:
    """Walks the files in order; stops early after max_files, or at a batch end with VmRSS above
    stop_above_mib (0: no limit), and says so in the result."""
    per_dir = files // dirs
    curve: list[tuple[float, int, float]] = []  # seconds, files done, VmRSS MiB
    done = 0
    stop = threading.Event()
    t0 = time.monotonic()

    def sample() -> None:
        while not stop.is_set():
            rss = proc_status_kb(pid, "VmRSS")
            if rss is not None:
                curve.append((round(time.monotonic() - t0, 2), done, round(rss / 1024, 1)))
            stop.wait(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    errors = 0
    stopped = ""
    try:
        for d in range(dirs):
            if stopped:
                break
            base = mnt / "walk" / f"d{d:03d}"
            for i in range(per_dir):
                p = base / f"f{i:06d}"
                try:
                    os.stat(p)
                    fd = os.open(p, os.O_RDONLY)
                    try:
                        if len(os.read(fd, 1)) != 1:
                            errors += 1
                    finally:
                        os.close(fd)
                except OSError:
                    errors += 1
                done += 1
                if done % batch == 0:
                    drop_dentries_and_inodes()
                    rss = (proc_status_kb(pid, "VmRSS") or 0) / 1024
                    print(f"  {done} files, VmRSS {rss:.0f} MiB", flush=True)
                    if stop_above_mib and rss > stop_above_mib:
                        stopped = f"VmRSS {rss:.0f} MiB > {stop_above_mib:.0f} MiB after {done} files"
                if max_files and done >= max_files:
                    stopped = f"--max-files {max_files}"
                if stopped:
                    break
    finally:
        stop.set()
        sampler.join()
    seconds = time.monotonic() - t0
    return {"files": done, "stopped": stopped, "errors": errors, "seconds": round(seconds, 1),
            "files_per_s": round(done / seconds, 1),
            "peak_rss_mib": round((proc_status_kb(pid, "VmHWM") or 0) / 1024, 1),
            "final_rss_mib": round((proc_status_kb(pid, "VmRSS") or 0) / 1024, 1),
            "curve": curve}


def plot(results: dict, png: Path) -> None:
    try:
        import matplotlib  # noqa: PLC0415
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, r in results["targets"].items():
        xs = [c[1] for c in r["curve"]]
        ys = [c[2] for c in r["curve"]]
        label = f"{name} (peak {r['peak_rss_mib']:.0f} MiB, {r['files_per_s']:.0f} files/s)"
        if r.get("stopped"):
            label += ", stopped early"
        ax.plot(xs, ys, label=label)
    ax.axhline(results["goal_mib"], color="grey", linestyle=":", label=f"goal {results['goal_mib']} MiB")
    ax.set_xlabel("files walked (stat + open + read 1 byte)")
    ax.set_ylabel("mount VmRSS (MiB)")
    ax.set_title(f"{results['files']} files in {results['dirs']} dirs, drop_caches=2 every {results['batch']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=100)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=300_000)
    ap.add_argument("--dirs", type=int, default=300)
    ap.add_argument("--batch", type=int, default=10_000, help="files between drop_caches (2)")
    ap.add_argument("--targets", default="ours,weed")
    ap.add_argument("--mount-bin", default=str(REPO / "build" / "bin" / "seaweed-rdma-mount"))
    ap.add_argument("--before-bin", help="an older seaweed-rdma-mount for the 'before' target")
    ap.add_argument("--mount-args", default="", help="extra flags for ours/before")
    ap.add_argument("--stop-above-mib", type=float, default=0,
                    help="stop a target's walk at the first batch end with VmRSS above this (0: never)")
    ap.add_argument("--max-files", default="", help="TARGET=N,...: walk at most N files for TARGET")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("metadata_walk: needs root (drop_caches)", file=sys.stderr)
        return 2
    targets = [t for t in args.targets.split(",") if t]
    max_files = {k: int(v) for k, v in (x.split("=") for x in args.max_files.split(",") if x)}
    if "before" in targets and not args.before_bin:
        print("metadata_walk: target 'before' needs --before-bin", file=sys.stderr)
        return 2
    out = args.out or REPO / "bench" / "results" / f"metadata-walk-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    results = {"files": args.files, "dirs": args.dirs, "batch": args.batch, "goal_mib": 160,
               "targets": {}}
    H.install_signal_handlers()
    try:
        with H.Cluster(volume_size_limit_mb=64) as c:
            create_dataset(c, args.files, args.dirs)
            for t in targets:
                if t == "weed":
                    m = WeedMount(c)
                else:
                    binary = args.before_bin if t == "before" else args.mount_bin
                    m = H.Mount(c, args.mount_args.split(), binary=binary, name=t)
                with m:
                    print(f"{t}: walking", flush=True)
                    drop_dentries_and_inodes()
                    r = walk(m.path, m.proc.pid, args.files, args.dirs, args.batch, max_files.get(t, 0),
                             args.stop_above_mib)
                    r["argv"] = m.argv() if t != "weed" else ["weed", "mount", "(defaults)"]
                    results["targets"][t] = r
                    print(f"{t}: {r['files']} files, peak RSS {r['peak_rss_mib']} MiB, {r['files_per_s']} files/s, "
                          f"{r['errors']} errors{', stopped: ' + r['stopped'] if r['stopped'] else ''}", flush=True)
    finally:
        H.cleanup_all()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    plot(results, out.with_suffix(".png"))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The command line: choose targets and workloads, run, write JSON + PNG, print the table."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import socket
import sys
import time
from pathlib import Path

import harness as H

from . import __doc__ as OVERVIEW
from .config import SCHEMA, SIZES
from .plot import plot
from .report import format_table, ratios, write_json
from .runner import Session
from .system import log, machine_info, versions
from .targets import BASELINES, TARGETS
from .workloads import WORKLOADS

REPO = H.REPO

METHOD = {
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
}
RAND4K_NOTE = (
    "rand4k on this 2-vCPU VM is bimodal: a FUSE round trip is ~3-7 us when the reader and the daemon "
    "run on the same CPU and ~15-46 us when each wakeup crosses CPUs; a busy-polling agent tends to push "
    "the reader and the mount onto the same CPU, so ours_rdma can beat the unpinned nullfs number. nullfs "
    "is a ceiling for throughput, not a latency floor in that case.")


def all_panels() -> list:
    return [(w.name, p) for w in WORKLOADS.values() for p in w.panels]


def colors() -> dict[str, str]:
    return {t.name: t.color for t in TARGETS.values()}


def make_report(s: Session, duration: float) -> dict:
    targets = {name: {**info, **TARGETS[name].info(s)} for name, info in s.target_info.items()}
    workloads = {name: w.spec() for name, w in WORKLOADS.items()}
    results = {name: s.results.get(name, {}) for name in WORKLOADS}
    s.notes.append(RAND4K_NOTE)
    return {
        "schema": SCHEMA,
        "started": s.started.isoformat(timespec="seconds"),
        "duration_s": round(duration, 1),
        "size": s.size,
        "repeat": s.p["repeat"],
        "params": s.p,
        "command": shlex.join([sys.executable] + sys.argv),
        "machine": machine_info(s.loadavg_start),
        "versions": versions(REPO, H.WEED_BIN, s.mount_bin, s.agent_bin),
        "cluster": {"weed_server": "weed server (master+volume+filer in one process), "
                                   "-master.volumeSizeLimitMB=1024",
                    "chunk_mb": s.p["chunk_mb"], "upload_seconds": s.data.upload_seconds,
                    "seq_chunks": len(s.data.large.seq_chunks) if "large" in s.data.sets else 0},
        "method": METHOD,
        "targets": targets,
        "workloads": workloads,
        "ceilings": s.ceilings,
        "results": results,
        "ratios": ratios(results, workloads, [t.name for t in s.targets if t.ours],
                         [b for b in BASELINES if b in TARGETS]),
        "skipped": s.skipped,
        "notes": s.notes,
    }


def write(rep: dict, out: Path) -> None:
    """JSON + PNG beside it (a failed plot is noted, the JSON is written anyway)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    png = out.with_suffix(".png")
    try:
        plot(rep, png, all_panels(), colors())
        rep["plot"] = str(png)
    except Exception as e:  # noqa: BLE001
        rep["plot"] = None
        rep["notes"].append(f"plot failed: {e!r}")
    write_json(rep, out)


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench", description=OVERVIEW,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=sorted(SIZES), default="full")
    ap.add_argument("--repeat", type=int, default=0, help="runs per measurement (default 3; tiny 1)")
    ap.add_argument("--out", help="JSON output (default bench/results/<date>-<host>.json; PNG beside it)")
    ap.add_argument("--build-dir", default=str(REPO / "build"), help="where bin/ has the binaries")
    ap.add_argument("--targets", default=",".join(TARGETS))
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
    for kind, given, known in (("target", args.targets, TARGETS), ("workload", args.workloads, WORKLOADS)):
        for name in [x for x in given.split(",") if x]:
            if name not in known:
                ap.error(f"unknown {kind} {name} (known: {', '.join(known)})")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.replot:
        rep = json.loads(Path(args.replot).read_text())
        plot(rep, Path(args.replot).with_suffix(".png"), all_panels(), colors())
        print(format_table(rep))
        return 0
    targets = [TARGETS[t] for t in args.targets.split(",") if t]
    workloads = [WORKLOADS[w] for w in args.workloads.split(",") if w]
    if os.geteuid() != 0:
        print("bench: warning: not root: drop_caches and bdi readahead changes will fail", file=sys.stderr)
    date = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else REPO / "bench" / "results" / f"{date}-{socket.gethostname()}.json"

    H.install_signal_handlers()
    s = Session(args, targets, workloads)
    s.check_targets(list(TARGETS.values()))
    start = time.monotonic()
    rc = 0
    try:
        s.start_cluster()
        s.upload()
        s.start_agents()
        s.measure_disk()
        s.run_all()
    except KeyboardInterrupt:
        log("interrupted: writing what was measured so far")
        s.notes.append("run interrupted")
        rc = 130
    except Exception as e:  # noqa: BLE001
        log(f"FAILED: {type(e).__name__}: {e}")
        s.notes.append(f"run failed: {type(e).__name__}: {e}"[:3000])
        rc = 1
    finally:
        try:
            s.stop()
        finally:
            H.cleanup_all()
    rep = make_report(s, time.monotonic() - start)
    write(rep, out)
    log(f"wrote {out} and {rep.get('plot')}")
    print(format_table(rep))
    return rc

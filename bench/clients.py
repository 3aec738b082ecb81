"""Client programs: running them with wall time and rusage, and parsing what they print."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from .system import BusyMeter


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


def run_clients(argvs: list[list[str]], timeout: float, on_timeout=None, cwd: str | None = None,
                env: dict | None = None) -> ClientResult:
    """Starts all argvs at once, waits for all; wall = start of the first to end of the last.
    CPU (user+sys) and max RSS of the clients come from wait4. On timeout, on_timeout() runs first
    (it unmounts, which fails the blocked reads), then the clients are SIGKILLed. `env` is added
    to this process's environment."""
    res = ClientResult()
    tmp = tempfile.mkdtemp(prefix="bench-client-")
    full_env = {**os.environ, **env} if env else None
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
                                          start_new_session=True, cwd=cwd, env=full_env))

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


# -- dd ------------------------------------------------------------------------------------------

DD_BYTES = re.compile(r"^(\d+) bytes", re.M)


def dd_argv(path: str | os.PathLike, direct: bool = False) -> list[str]:
    return ["dd", f"if={path}", "of=/dev/null", "bs=1M"] + (["iflag=direct"] if direct else [])


def dd_bytes(stderr: str) -> int:
    """Bytes copied according to dd's last summary line; -1 without one."""
    m = DD_BYTES.findall(stderr)
    return int(m[-1]) if m else -1


def dd_bytes_total(stderr: str) -> int:
    """Bytes of every dd summary in one output (several dd runs in one shell)."""
    return sum(int(x) for x in DD_BYTES.findall(stderr))


# -- seaweed-randread (bench/tools/randread.c) --------------------------------------------------

RANDREAD_FIELDS = ("ops", "iops", "mean_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "short_reads")


def randread_argv(binary: str, path: str | os.PathLike, seconds: float, seed: int, block: int = 4096) -> list[str]:
    return [binary, str(path), "-b", str(block), "-t", str(seconds), "-s", str(seed)]


def parse_randread(stdout: str) -> dict:
    """The JSON line of seaweed-randread -> sample fields (raises on read errors)."""
    j = json.loads(stdout)
    if j.get("errors"):
        raise ValueError(f"randread: {j['errors']} read errors")
    out = {k: j[k] for k in RANDREAD_FIELDS}
    out["wall_s"] = j["seconds"]
    out["bytes"] = j["ops"] * 4096
    return out


# -- the small-file reader ----------------------------------------------------------------------

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


def parse_small_reader(stdout: str) -> dict:
    """{files, bytes, seconds} printed by SMALL_READER (or WALKER) as its last line."""
    return json.loads(stdout.strip().splitlines()[-1])


# metawalk: files START .. START+COUNT-1 of the walk tree in order (file k is d{k // PER_DIR}/
# f{k % PER_DIR}), each as a loader with a file list touches it: stat, open, read 1 byte, close.
# Failures are counted (the first is printed), not fatal, so the caller sees how many.
WALKER = r"""
import json, os, sys, time
root, per_dir, start, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
t = time.monotonic(); errors = 0; first = ""
for k in range(start, start + count):
    p = os.path.join(root, f"d{k // per_dir:03d}", f"f{k % per_dir:06d}")
    try:
        os.stat(p)
        fd = os.open(p, os.O_RDONLY)
        try:
            if len(os.read(fd, 1)) != 1:
                raise OSError(f"short read of {p}")
        finally:
            os.close(fd)
    except OSError as e:
        errors += 1
        first = first or str(e)
print(json.dumps({"files": count, "errors": errors, "first_error": first, "seconds": time.monotonic() - t}))
"""


# -- curl ---------------------------------------------------------------------------------------

def write_curl_config(path: Path, entries: list[tuple[str, str | None]], write_out: bool) -> None:
    """A `curl -K` config fetching every (url, range or None) to /dev/null over one connection;
    with write_out each transfer prints 'time_total http_code size_download'."""
    with open(path, "w") as f:
        for i, (url, rng) in enumerate(entries):
            if i:
                f.write("next\n")
            f.write(f'url = "{url}"\noutput = "/dev/null"\nsilent\nshow-error\nfail\n')
            if rng:
                f.write(f'range = "{rng}"\n')
            if write_out:
                f.write('write-out = "%{time_total} %{http_code} %{size_download}\\n"\n')


def parse_curl_latencies(stdout: str, size: int) -> list[float]:
    """Sorted microseconds per transfer from write_curl_config(write_out=True) output; every
    transfer must have answered 200/206 with `size` bytes."""
    lat = []
    for line in stdout.splitlines():
        t, code, got = line.split()
        if code not in ("200", "206") or int(float(got)) != size:
            raise ValueError(f"curl range GET: HTTP {code}, {got} bytes")
        lat.append(float(t) * 1e6)
    return sorted(lat)


def combine(results: list[ClientResult]) -> ClientResult | None:
    """One ClientResult for several client runs of one measurement (run one after another):
    wall, CPU and busy seconds add up, max RSS is the largest."""
    if len(results) <= 1:
        return results[0] if results else None
    out = ClientResult()
    for r in results:
        out.wall += r.wall
        out.rc += r.rc
        out.user += r.user
        out.sys += r.sys
        out.maxrss_kb = max(out.maxrss_kb, r.maxrss_kb)
        out.stdout += r.stdout
        out.stderr += r.stderr
        out.timed_out |= r.timed_out
        out.busy_s += r.busy_s
    total = sum(r.wall for r in results)
    out.busy_frac = sum(r.busy_frac * r.wall for r in results) / total if total > 0 else 0.0
    return out

"""The machine: /proc figures of processes (CPU, peak RSS), machine load, page cache and bdi
readahead controls, and what the report says about the machine and the versions."""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

T0 = time.monotonic()
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f}s] {msg}", flush=True)


def sh(cmd: list[str], timeout: float = 30) -> str:
    """Output (stdout + stderr) of a short command, or '<error>' when it cannot run."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return (r.stdout + r.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"<{e}>"


# -- one process -------------------------------------------------------------------------------

def cpu_seconds(pid: int | None) -> float | None:
    """utime + stime of a process so far."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def proc_status_kb(pid: int | None, key: str) -> int | None:
    """A kB field of /proc/PID/status (VmHWM, VmRSS, RssAnon, ...)."""
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


class RssSampler:
    """Samples VmRSS of a process every `interval` seconds in a thread, for curves of memory over
    a run: `with RssSampler(pid) as s: ...; s.points` -> [(seconds since start, MiB), ...]."""

    def __init__(self, pid: int, interval: float = 0.5):
        self.pid = pid
        self.interval = interval
        self.points: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        t0 = time.monotonic()
        while True:
            kb = proc_status_kb(self.pid, "VmRSS")
            if kb is not None:
                self.points.append((round(time.monotonic() - t0, 3), round(kb / 1024, 1)))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


# -- the whole machine -------------------------------------------------------------------------

def drop_caches(level: int = 3) -> bool:
    """echo LEVEL > /proc/sys/vm/drop_caches: 3 = page cache, dentries and inodes; 2 = dentries
    and inodes only (the kernel then sends FORGETs to FUSE daemons). False without root."""
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write(str(level))
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
    """Fraction of all CPUs busy between creation and stop(): shows how much the machine was
    loaded (by the benchmark itself and by anything else running at the same time)."""

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


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _bdi_path(path: Path) -> str:
    st = os.stat(path)
    return f"/sys/class/bdi/{os.major(st.st_dev)}:{os.minor(st.st_dev)}/read_ahead_kb"


def set_readahead(path: Path, kb: int) -> str | None:
    """Sets the kernel readahead of the file system at `path`; returns an error text or None."""
    try:
        with open(_bdi_path(path), "w") as f:
            f.write(str(kb))
        return None
    except OSError as e:
        return str(e)


def bdi_readahead(path: Path) -> int | None:
    try:
        with open(_bdi_path(path)) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def loadavg() -> list[str] | None:
    with contextlib.suppress(OSError):
        with open("/proc/loadavg") as f:
            return f.read().split()[:3]
    return None


def machine_info(loadavg_at_start) -> dict:
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
            "kernel": platform.release(), "os": osrel, "loadavg_at_start": loadavg_at_start,
            "loadavg_at_end": loadavg(),
            "fuse_max_pages_limit": sh(["cat", "/proc/sys/fs/fuse/max_pages_limit"]),
            "pipe_max_size": sh(["cat", "/proc/sys/fs/pipe-max-size"])}


def versions(repo: Path, weed_bin: str, mount_bin: str, agent_bin: str) -> dict:
    rev = sh(["git", "-C", str(repo), "rev-parse", "HEAD"])
    dirty = sh(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"])
    return {"weed": sh([weed_bin, "version"]).splitlines()[0] if os.access(weed_bin, os.X_OK) else None,
            "git_rev": rev, "git_dirty": bool(dirty.strip()),
            "libfuse": sh(["pkg-config", "--modversion", "fuse3"]),
            "fusermount3": sh(["fusermount3", "--version"]),
            "ucx": (sh(["ucx_info", "-v"]).splitlines() or [""])[0].lstrip("# "),
            "curl": sh(["curl", "--version"]).splitlines()[0],
            "python": sys.version.split()[0],
            "mount": sh([mount_bin, "-version"]) if os.access(mount_bin, os.X_OK) else None,
            # the ours_before target's binary, when given
            "mount_before": (sh([before, "-version"]) if (before := os.environ.get("BENCH_BEFORE_MOUNT_BIN"))
                             and os.access(before, os.X_OK) else None),
            "agent_present": os.access(agent_bin, os.X_OK)}

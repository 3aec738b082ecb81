"""The FUSE client under test on a fresh mountpoint."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from .env import MOUNT_BIN, TMP_PREFIX, HarnessError
from .procs import Proc, register_cleanup, unregister_cleanup, is_mounted, lazy_unmount, shielded, tail_file

if TYPE_CHECKING:
    from .cluster import Cluster

class MountError(HarnessError):
    pass


_flag_cache: dict[str, str] = {}


def binary_has_flag(binary: str, flag: str) -> bool:
    """Whether `binary -h` lists -flag (for flags a binary may not have yet)."""
    if binary not in _flag_cache:
        try:
            r = subprocess.run([binary, "-h"], capture_output=True, timeout=10, text=True)
            _flag_cache[binary] = r.stdout + r.stderr
        except (OSError, subprocess.TimeoutExpired):
            _flag_cache[binary] = ""
    return f"-{flag}" in _flag_cache[binary]


class Mount:
    """Runs the FUSE client on a fresh mountpoint; a context manager.

    Mount(cluster, ["-readOnly"]) -> mounted at .path once /proc/mounts shows it.
    cwd: the mount process's working directory (default: the test runner's).
    launch_prefix: argv prefix, e.g. a network namespace's (harness.netns.Host.prefix());
    mount_parent: where the mountpoint is made (default the temp dir; a namespaced mount needs
    harness.netns.Lan.shared_dir() so that the test runner sees it)."""

    def __init__(self, cluster: Cluster | None = None, args: Iterable[str] = (),
                 filer: str | None = None, binary: str | None = None, rdma: bool = False,
                 env: dict | None = None, ready_timeout: float = 30.0, name: str = "mount",
                 cwd: str | os.PathLike | None = None, launch_prefix: Iterable[str] = (),
                 mount_parent: str | os.PathLike | None = None):
        self.cluster = cluster
        self.filer = filer or (cluster.filer_addr if cluster else None)
        self.binary = binary or MOUNT_BIN
        self.args = list(args)
        self.rdma = rdma
        self.env = env
        self.ready_timeout = ready_timeout
        self.name = name
        self.cwd = cwd
        self.launch_prefix = list(launch_prefix)
        self.mount_parent = mount_parent
        self.path: Path | None = None
        self.proc: Proc | None = None
        self.returncode: int | None = None
        self._cleanup_fn = None
        self.log_dir = None

    def argv(self) -> list[str]:
        a = [*self.launch_prefix, self.binary, f"-filer={self.filer}"]
        if not self.rdma and not any(x.startswith("-rdma.enabled") for x in self.args):
            a.append("-rdma.enabled=false")
        a += self.args
        a += shlex.split(os.environ.get("SEAWEED_MOUNT_EXTRA_ARGS", ""))
        a.append(str(self.path))
        return a

    def __enter__(self) -> "Mount":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        if not os.access(self.binary, os.X_OK):
            raise MountError(f"mount binary {self.binary} not found/executable (set SEAWEED_MOUNT_BIN)")
        self.path = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "mnt-",
                                          dir=str(self.mount_parent) if self.mount_parent else None))
        self.log_dir = (self.cluster.dir if self.cluster and self.cluster.dir
                        else Path(tempfile.gettempdir()))
        self._cleanup_fn = register_cleanup(lambda: self.stop())
        log = self.log_dir / f"{self.name}-{self.path.name}.log"
        self.proc = Proc(self.name, self.argv(), log, env=self.env,
                         cwd=str(self.cwd) if self.cwd is not None else None)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if is_mounted(self.path):
                return
            if not self.proc.alive():
                rc = self.proc.returncode
                out = self.proc.tail(80)
                self.stop()
                raise MountError(f"mount exited with {rc} before mounting {self.path}:\n{out}")
            time.sleep(0.05)
        out = self.proc.tail(80)
        self.stop()
        raise MountError(f"mount not in /proc/mounts after {self.ready_timeout}s:\n{out}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        """Signals the mount, waits for exit; lazy-unmounts and SIGKILLs if needed. Returns the
        exit code of the mount process (None if it had to be killed)."""
        with shielded():
            return self._stop(sig, timeout)

    def _stop(self, sig: int, timeout: float) -> int | None:
        if self._cleanup_fn:
            unregister_cleanup(self._cleanup_fn)
            self._cleanup_fn = None
        if self.proc is None:
            return self.returncode
        p, self.proc = self.proc, None
        rc = p.returncode
        if rc is None:
            p.send_signal(sig)
            rc = p.wait(timeout)
        self.unmounted_by_itself = self.path is not None and not is_mounted(self.path)
        if self.path and is_mounted(self.path):
            lazy_unmount(self.path)
            if rc is None:
                rc = p.wait(5)
        if rc is None:
            p.stop(signal.SIGKILL, timeout=5)
            rc = None
        else:
            p.stop(timeout=1)  # reaps, closes log
        if self.path and is_mounted(self.path):
            lazy_unmount(self.path)
        if self.path and not is_mounted(self.path):
            with contextlib.suppress(OSError):
                os.rmdir(self.path)
        self.returncode = rc
        return rc

    def log(self, lines: int = 80) -> str:
        if self.proc:
            return self.proc.tail(lines)
        if self.log_dir and self.path:
            return tail_file(self.log_dir / f"{self.name}-{self.path.name}.log", lines)
        return ""

    def p(self, rel: str) -> Path:
        """Path on the mount for a filer path relative to the mounted root."""
        return self.path / rel.lstrip("/")


"""Processes and cleanup: children in their own process group that die with the test runner,
a registry of cleanups run newest first (also at interpreter exit and on SIGTERM/SIGHUP), mount
table helpers, and the sweep of what a killed earlier run left behind."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from .env import HarnessError

# --------------------------------------------------------------------------------------------
# cleanup registry
# --------------------------------------------------------------------------------------------

_cleanups: list[Callable[[], None]] = []
_cleanup_lock = threading.Lock()


def register_cleanup(fn: Callable[[], None]) -> Callable[[], None]:
    """Runs fn at cleanup_all() (end of session, exit, signal) unless unregistered first."""
    with _cleanup_lock:
        _cleanups.append(fn)
    return fn


def unregister_cleanup(fn: Callable[[], None]) -> None:
    with _cleanup_lock:
        with contextlib.suppress(ValueError):
            _cleanups.remove(fn)


# the names these had when the harness was one module (tests outside the package use them)
_register_cleanup = register_cleanup
_unregister_cleanup = unregister_cleanup


@atexit.register
def cleanup_all() -> None:
    """Runs every pending cleanup, newest first (mounts before the cluster they use)."""
    while True:
        with _cleanup_lock:
            if not _cleanups:
                return
            fn = _cleanups.pop()
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - best effort at exit
            print(f"harness: cleanup error: {e!r}", file=sys.stderr)


_shield_depth = 0
_pending_signal: int | None = None


@contextlib.contextmanager
def shielded():
    """Defers SIGTERM/SIGHUP (as installed below) while cleaning up, so a signal that arrives
    during teardown does not leave half-stopped processes behind."""
    global _shield_depth, _pending_signal
    _shield_depth += 1
    try:
        yield
    finally:
        _shield_depth -= 1
        if _shield_depth == 0 and _pending_signal is not None:
            sig, _pending_signal = _pending_signal, None
            raise KeyboardInterrupt(f"signal {sig}")


def install_signal_handlers() -> None:
    """SIGTERM/SIGHUP become KeyboardInterrupt so pytest runs fixture finalizers and atexit."""

    def handler(signum, frame):  # noqa: ARG001
        global _pending_signal
        if _shield_depth:
            _pending_signal = signum
            return
        raise KeyboardInterrupt(f"signal {signum}")

    if threading.current_thread() is threading.main_thread():
        for s in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, handler)


_libc = ctypes.CDLL(None, use_errno=True)
_libc.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
_libc.signal.restype = ctypes.c_void_p
_PR_SET_PDEATHSIG = 1
_SIG_DFL = 0
# A runner started in the background by a non-interactive shell has SIGINT and SIGQUIT ignored
# (nohup: SIGHUP), and children inherit that; libfuse then leaves SIGINT ignored, so a mount
# would not stop on it. Children get these signals' default action back.
_RESET_SIGNALS = (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP)


def _child_setup() -> None:
    # Runs in the child between fork and exec (C calls only: it may be forked from any thread).
    # Die with the test runner even if it is SIGKILLed.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    for s in _RESET_SIGNALS:
        _libc.signal(s, _SIG_DFL)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mounted_points() -> dict[str, str]:
    """mountpoint -> fstype from /proc/mounts (octal escapes such as \\040 decoded)."""
    out = {}
    with open("/proc/mounts", "rb") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3:
                continue
            mp = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), parts[1])
            out[mp.decode("utf-8", "surrogateescape")] = parts[2].decode()
    return out


def is_mounted(path: str | os.PathLike) -> bool:
    return os.path.abspath(path) in mounted_points()


def lazy_unmount(path: str | os.PathLike) -> None:
    for cmd in (["fusermount3", "-u", "-z", str(path)], ["umount", "-l", str(path)]):
        if shutil.which(cmd[0]):
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
            if not is_mounted(path):
                return


def sweep_stale() -> None:
    """Unmounts FUSE mounts and removes temp dirs left by earlier runs whose process is gone."""
    tmp = Path(tempfile.gettempdir())

    def owner_dead(name: str) -> bool:
        if not name.startswith("swinteg-"):
            return False
        try:
            pid = int(name.split("-")[1])
        except (IndexError, ValueError):
            return False
        return pid != os.getpid() and not _pid_alive(pid)

    for mp in list(mounted_points()):
        p = Path(mp)
        if p.parent == tmp and owner_dead(p.name):
            lazy_unmount(mp)
    for d in tmp.glob("swinteg-*"):
        if owner_dead(d.name) and not is_mounted(d):
            if d.is_dir():
                shutil.rmtree(d, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------------------------


class Proc:
    """A child process in its own process group with output going to a log file."""

    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict | None = None,
                 cwd: str | None = None, stderr_path: Path | None = None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.stderr_path = Path(stderr_path) if stderr_path else None
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        self._log = open(self.log_path, "ab")
        self._err = open(self.stderr_path, "ab") if self.stderr_path else None
        self._log.write(f"### {time.strftime('%H:%M:%S')} start: {shlex.join(self.argv)}\n".encode())
        self._log.flush()
        self.popen = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=self._err if self._err else subprocess.STDOUT, env=full_env, cwd=cwd,
            start_new_session=True, preexec_fn=_child_setup)
        self.pid = self.popen.pid
        self._cleanup = register_cleanup(lambda: self.stop(timeout=3))

    def alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def send_signal(self, sig: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int | None:
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> int | None:
        """Signals the process group, waits, then SIGKILLs the group. Returns the exit code."""
        unregister_cleanup(self._cleanup)
        rc = self.popen.poll()
        if rc is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)
            rc = self.wait(timeout)
        # kill leftovers of the group (and the leader if it ignored the signal)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        if rc is None:
            rc = self.wait(10)
        for f in (self._log, self._err):
            if f and not f.closed:
                f.close()
        return rc

    def tail(self, lines: int = 60) -> str:
        return tail_file(self.log_path, lines) + (
            ("\n--- stderr ---\n" + tail_file(self.stderr_path, lines)) if self.stderr_path else "")


def tail_file(path: Path | None, lines: int = 60) -> str:
    if not path or not Path(path).exists():
        return "<no log>"
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 64 * 1024))
        data = f.read().decode("utf-8", "replace")
    return "\n".join(data.splitlines()[-lines:])



def run(cmd, check: bool = True, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """subprocess.run with captured text output and a helpful error."""
    r = subprocess.run(cmd, capture_output=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        out = r.stdout.decode("utf-8", "replace")[-2000:] if isinstance(r.stdout, bytes) else r.stdout
        err = r.stderr.decode("utf-8", "replace")[-2000:] if isinstance(r.stderr, bytes) else r.stderr
        raise HarnessError(f"{cmd!r} exited {r.returncode}\nstdout: {out}\nstderr: {err}")
    return r


def read_with_timeout(path: str | os.PathLike, offset: int = 0, length: int = -1,
                      timeout: float = 60.0) -> tuple[int, bytes | str]:
    """Reads in a child process (a hung FUSE read must not hang the test runner).
    Returns (0, data) or (errno, message); errno -1 = timeout."""
    code = ("import os,sys\n"
            "fd=os.open(sys.argv[1],os.O_RDONLY)\n"
            "off=int(sys.argv[2]);n=int(sys.argv[3])\n"
            "out=bytearray()\n"
            "try:\n"
            "  while n<0 or len(out)<n:\n"
            "    b=os.pread(fd,1<<20 if n<0 else min(1<<20,n-len(out)),off+len(out))\n"
            "    if not b: break\n"
            "    out+=b\n"
            "except OSError as e:\n"
            "  sys.stderr.write(f'{e.errno} {e.strerror}'); sys.exit(3)\n"
            "sys.stdout.buffer.write(out)\n")
    try:
        r = subprocess.run([sys.executable, "-c", code, str(path), str(offset), str(length)],
                           capture_output=True, timeout=timeout, start_new_session=True)
    except subprocess.TimeoutExpired:
        return -1, f"read of {path} did not finish in {timeout}s"
    if r.returncode == 3:
        e, _, msg = r.stderr.decode().partition(" ")
        return int(e), msg
    if r.returncode != 0:
        return -2, r.stderr.decode("utf-8", "replace")[-1000:]
    return 0, r.stdout


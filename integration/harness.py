"""Test harness for running seaweed-rdma-mount against a real SeaweedFS cluster.

Pieces:
  * Proc          - a child process in its own session/process group, logging to a file, killed
                    with its whole group on cleanup (and by the kernel if the test runner dies).
  * Cluster       - `weed server` (master + volume + filer) on free loopback ports in a temp dir,
                    plus optional extra `weed volume` servers and arbitrary extra processes
                    (Cluster.spawn, for the RDMA agent later). HTTP and gRPC helpers to fill it.
  * FilerGrpc     - filer gRPC stub compiled on the fly from proto/filer.proto.
  * Mount         - the FUSE client under test on a fresh mountpoint.
  * Blob & co     - deterministic expected content (no need to keep big files in RAM) and
                    comparison helpers that report the first differing offset.

Environment:
  WEED_BIN                 weed binary            (default <repo>/.venv/bin/weed)
  SEAWEED_MOUNT_BIN        mount binary           (default <repo>/build/bin/seaweed-rdma-mount)
  SEAWEED_MOUNT_EXTRA_ARGS extra mount flags, whitespace separated (appended to every mount)
  INTEG_KEEP=1             keep temp dirs (logs, volume files) after the run
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import errno
import hashlib
import http.client
import importlib
import io
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

# gRPC's fork support runs handlers in every forked child; with preexec_fn in between fork and
# exec that can abort the child ("epoll_wait error: Bad file descriptor") before it becomes the
# agent or the mount. The harness never uses gRPC in a child, so it is off (must precede import).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

REPO = Path(__file__).resolve().parent.parent
WEED_BIN = os.environ.get("WEED_BIN") or str(REPO / ".venv" / "bin" / "weed")
MOUNT_BIN = os.environ.get("SEAWEED_MOUNT_BIN") or str(REPO / "build" / "bin" / "seaweed-rdma-mount")
PROTO = REPO / "proto" / "filer.proto"
GEN_DIR = Path(__file__).resolve().parent / ".gen"
KEEP = os.environ.get("INTEG_KEEP", "") not in ("", "0")

TMP_PREFIX = f"swinteg-{os.getpid()}-"  # the pid lets a later run sweep what a killed run left behind

# Go os.FileMode type bits (fact sheet §1.2)
MODE_DIR = 1 << 31
MODE_SYMLINK = 1 << 27
MODE_PERM = 0o7777

MiB = 1 << 20


class HarnessError(RuntimeError):
    pass


# --------------------------------------------------------------------------------------------
# cleanup registry
# --------------------------------------------------------------------------------------------

_cleanups: list[Callable[[], None]] = []
_cleanup_lock = threading.Lock()


def _register_cleanup(fn: Callable[[], None]) -> Callable[[], None]:
    with _cleanup_lock:
        _cleanups.append(fn)
    return fn


def _unregister_cleanup(fn: Callable[[], None]) -> None:
    with _cleanup_lock:
        with contextlib.suppress(ValueError):
            _cleanups.remove(fn)


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
_PR_SET_PDEATHSIG = 1


def _child_setup() -> None:
    # Runs in the child between fork and exec: die with the test runner even if it is SIGKILLed.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


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
        self._cleanup = _register_cleanup(lambda: self.stop(timeout=3))

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
        _unregister_cleanup(self._cleanup)
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


# --------------------------------------------------------------------------------------------
# ports
# --------------------------------------------------------------------------------------------

_reserved_ports: set[int] = set()
_port_lock = threading.Lock()


def _port_free(port: int) -> bool:
    if port in _reserved_ports or port >= 65536:
        return False
    # weed also listens on /tmp/seaweedfs-*-<port>.sock; avoid ports with leftovers
    if list(Path("/tmp").glob(f"seaweedfs-*-{port}.sock")):
        return False
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port_pair() -> int:
    """A loopback port p such that p and p+10000 (the gRPC port) are both free."""
    rng = random.Random(os.getpid() * 7919 + time.monotonic_ns())
    with _port_lock:
        for _ in range(2000):
            p = rng.randrange(20000, 30000)
            if _port_free(p) and _port_free(p + 10000):
                _reserved_ports.update((p, p + 10000))
                return p
    raise HarnessError("no free port pair found")


def free_port() -> int:
    """A free loopback port with nothing listening (for 'unreachable filer' tests)."""
    return free_port_pair()


def _remove_weed_sockets(ports: Iterable[int]) -> None:
    for p in ports:
        for s in Path("/tmp").glob(f"seaweedfs-*-{p}.sock"):
            with contextlib.suppress(OSError):
                s.unlink()


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


def http_request(url: str, method: str = "GET", body=None, headers: dict | None = None,
                 timeout: float = 120.0) -> Response:
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        hdrs = dict(headers or {})
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def http_stream(url: str, headers: dict | None = None, timeout: float = 300.0,
                block: int = MiB) -> Iterator[bytes]:
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        path = u.path + ("?" + u.query if u.query else "")
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        if r.status not in (200, 206):
            raise HarnessError(f"GET {url}: HTTP {r.status}: {r.read()[:300]!r}")
        while True:
            b = r.read(block)
            if not b:
                break
            yield b
    finally:
        conn.close()


def _query(q: dict) -> str:
    items = []
    for k, v in q.items():
        if v is None:
            continue
        if isinstance(v, bool):
            v = "true" if v else "false"
        items.append((k, str(v)))
    return ("?" + urllib.parse.urlencode(items)) if items else ""


def quote_path(path: str) -> str:
    return urllib.parse.quote(path, safe="/")


# --------------------------------------------------------------------------------------------
# expected content
# --------------------------------------------------------------------------------------------


class Blob:
    """Expected file content: random access without materialising big files."""

    size: int

    def read(self, off: int, n: int) -> bytes:
        raise NotImplementedError

    def iter_blocks(self, block: int = MiB) -> Iterator[bytes]:
        off = 0
        while off < self.size:
            n = min(block, self.size - off)
            yield self.read(off, n)
            off += n

    def sha256(self) -> str:
        if getattr(self, "_sha", None) is None:
            h = hashlib.sha256()
            for b in self.iter_blocks():
                h.update(b)
            self._sha = h.hexdigest()
        return self._sha

    def bytes(self) -> bytes:
        return self.read(0, self.size)


class BytesBlob(Blob):
    def __init__(self, data: bytes):
        self.data = bytes(data)
        self.size = len(self.data)

    def read(self, off, n):
        return self.data[off:off + n]


class RandomBlob(Blob):
    """Pseudo-random bytes; block i is random.Random(seed-derived)(i).randbytes(BLOCK), so any
    range can be recomputed cheaply (~500 MB/s)."""

    BLOCK = MiB

    def __init__(self, seed: int, size: int):
        self.seed = seed
        self.size = size
        self._cache: tuple[int, bytes] | None = None

    def _block(self, i: int) -> bytes:
        if self._cache and self._cache[0] == i:
            return self._cache[1]
        b = random.Random(self.seed * 1_000_003 + i).randbytes(self.BLOCK)
        self._cache = (i, b)
        return b

    def read(self, off, n):
        n = max(0, min(n, self.size - off))
        out = bytearray()
        while n > 0:
            i, o = divmod(off, self.BLOCK)
            b = self._block(i)[o:o + n]
            out += b
            off += len(b)
            n -= len(b)
        return bytes(out)


def random_bytes(seed: int, n: int) -> bytes:
    return random.Random(seed).randbytes(n)


_WORDS = ("seaweed filer volume needle chunk manifest mount fuse kernel page cache read write "
          "offset interval cookie replica master leader gzip cipher lorem ipsum dolor sit amet "
          "consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna").split()


def text_bytes(seed: int, n: int) -> bytes:
    """Compressible (gzips well) but not trivially periodic text."""
    rng = random.Random(seed)
    out = io.StringIO()
    size = 0
    line_no = 0
    while size < n:
        line = f"{line_no:08d} " + " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(4, 16))) + "\n"
        out.write(line)
        size += len(line)
        line_no += 1
    return out.getvalue().encode()[:n]


class Expected:
    """A mutable expected file used to model offset writes / appends (fits in RAM)."""

    def __init__(self, data: bytes = b""):
        self.buf = bytearray(data)

    def write(self, off: int, data: bytes) -> None:
        end = off + len(data)
        if end > len(self.buf):
            self.buf.extend(b"\0" * (end - len(self.buf)))
        self.buf[off:end] = data

    def append(self, data: bytes) -> None:
        self.buf += data

    def blob(self) -> BytesBlob:
        return BytesBlob(bytes(self.buf))


@dataclass
class Mismatch:
    path: str
    offset: int
    detail: str

    def __str__(self):
        return f"{self.path}: offset {self.offset}: {self.detail}"


def first_difference(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n if len(a) != len(b) else -1
    lo, hi = 0, n
    while hi - lo > 64:
        mid = (lo + hi) // 2
        if a[lo:mid] != b[lo:mid]:
            hi = mid
        else:
            lo = mid
    for i in range(lo, hi):
        if a[i] != b[i]:
            return i
    return n


def compare_stream(name: str, got_blocks: Iterable[bytes], expected: Blob) -> tuple[int, Mismatch | None]:
    """Compares a stream of blocks with the expected blob. Returns (bytes compared, mismatch)."""
    off = 0
    h = hashlib.sha256()
    for blk in got_blocks:
        exp = expected.read(off, len(blk))
        if blk != exp:
            d = first_difference(blk, exp)
            at = off + d
            if len(exp) < len(blk) and d >= len(exp):
                return off + d, Mismatch(name, at, f"file longer than expected {expected.size} bytes")
            return off + d, Mismatch(
                name, at, f"got {blk[d:d + 16].hex()} expected {exp[d:d + 16].hex()} "
                          f"(expected size {expected.size})")
        h.update(blk)
        off += len(blk)
    if off != expected.size:
        return off, Mismatch(name, off, f"short: got {off} bytes, expected {expected.size}")
    if h.hexdigest() != expected.sha256():
        return off, Mismatch(name, 0, f"sha256 {h.hexdigest()} != {expected.sha256()}")
    return off, None


def read_file_blocks(path: str | os.PathLike, block: int = MiB) -> Iterator[bytes]:
    with open(path, "rb", buffering=0) as f:
        while True:
            b = f.read(block)
            if not b:
                break
            yield b


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    for b in read_file_blocks(path):
        h.update(b)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# gRPC
# --------------------------------------------------------------------------------------------

_pb_lock = threading.Lock()
_pb_modules = None


def filer_pb():
    """(filer_pb2, filer_pb2_grpc) compiled from proto/filer.proto into integration/.gen/<hash>."""
    global _pb_modules
    with _pb_lock:
        if _pb_modules:
            return _pb_modules
        src = PROTO.read_bytes()
        tag = hashlib.sha256(src).hexdigest()[:16]
        out = GEN_DIR / tag
        if not (out / "filer_pb2_grpc.py").exists():
            GEN_DIR.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix="gen-", dir=GEN_DIR))
            from grpc_tools import protoc  # noqa: PLC0415
            import grpc_tools  # noqa: PLC0415
            inc = Path(grpc_tools.__file__).parent / "_proto"
            rc = protoc.main(["protoc", f"-I{PROTO.parent}", f"-I{inc}", f"--python_out={tmp}",
                              f"--grpc_python_out={tmp}", str(PROTO)])
            if rc != 0:
                raise HarnessError(f"protoc failed ({rc}) for {PROTO}")
            try:
                os.rename(tmp, out)  # atomic publish; a concurrent run may have won
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
        if str(out) not in sys.path:
            sys.path.insert(0, str(out))
        pb2 = importlib.import_module("filer_pb2")
        pb2_grpc = importlib.import_module("filer_pb2_grpc")
        _pb_modules = (pb2, pb2_grpc)
        return _pb_modules


def parse_fid(fid: str):
    """'3,01637037d6[_n]' -> (vid, key, cookie) (fact sheet §3)."""
    vid_s, rest = fid.split(",", 1)
    delta = 0
    if "_" in rest:
        rest, d = rest.split("_", 1)
        delta = int(d)
    if "." in rest:
        rest = rest.split(".", 1)[0]
    return int(vid_s), int(rest[:-8], 16) + delta, int(rest[-8:], 16)


def format_fid(vid: int, key: int, cookie: int) -> str:
    kb = key.to_bytes(8, "big").lstrip(b"\0")
    return f"{vid},{kb.hex()}{cookie:08x}"


class FilerGrpc:
    def __init__(self, addr: str):
        import grpc  # noqa: PLC0415
        self.pb, pb_grpc = filer_pb()
        self.addr = addr
        self.channel = grpc.insecure_channel(addr, options=[
            ("grpc.max_receive_message_length", 1 << 30),
            ("grpc.max_send_message_length", 1 << 30)])
        self.stub = pb_grpc.SeaweedFilerStub(self.channel)

    def close(self):
        self.channel.close()

    # -- raw-ish calls
    def lookup(self, directory: str, name: str):
        import grpc  # noqa: PLC0415
        try:
            r = self.stub.LookupDirectoryEntry(
                self.pb.LookupDirectoryEntryRequest(directory=directory, name=name), timeout=30)
        except grpc.RpcError as e:
            if "no entry is found" in (e.details() or ""):
                return None
            raise
        return r.entry if r.HasField("entry") else None

    def lookup_path(self, path: str):
        d, n = split_path(path)
        return self.lookup(d, n)

    def create_entry(self, directory: str, entry, o_excl: bool = False, skip_parent: bool = False):
        r = self.stub.CreateEntry(self.pb.CreateEntryRequest(
            directory=directory, entry=entry, o_excl=o_excl,
            skip_check_parent_directory=skip_parent), timeout=120)
        if r.error:
            raise HarnessError(f"CreateEntry {directory}/{entry.name}: {r.error}")
        return r

    def append_to_entry(self, directory: str, name: str, chunks) -> None:
        self.stub.AppendToEntry(self.pb.AppendToEntryRequest(
            directory=directory, entry_name=name, chunks=chunks), timeout=120)

    def assign(self, count: int = 1, collection: str = "", path: str = ""):
        r = self.stub.AssignVolume(self.pb.AssignVolumeRequest(
            count=count, collection=collection, path=path), timeout=30)
        if r.error:
            raise HarnessError(f"AssignVolume: {r.error}")
        return r

    def list(self, directory: str, page: int = 1000) -> list:
        out, start = [], ""
        while True:
            got = 0
            for r in self.stub.ListEntries(self.pb.ListEntriesRequest(
                    directory=directory, startFromFileName=start, limit=page), timeout=120):
                out.append(r.entry)
                start = r.entry.name
                got += 1
            if got < page:
                return out

    # -- entry builders
    def attrs(self, mode: int, size: int = 0, mtime: int | None = None, symlink_target: str = "",
              mime: str = ""):
        now = int(time.time()) if mtime is None else mtime
        return self.pb.FuseAttributes(file_size=size, mtime=now, crtime=now, file_mode=mode,
                                      uid=0, gid=0, symlink_target=symlink_target, mime=mime)

    def chunk(self, fid: str, offset: int, size: int, ts_ns: int, **kw):
        vid, key, cookie = parse_fid(fid)
        canonical = format_fid(vid, key, cookie)
        return self.pb.FileChunk(file_id=canonical, offset=offset, size=size, modified_ts_ns=ts_ns,
                                 fid=self.pb.FileId(volume_id=vid, file_key=key, cookie=cookie), **kw)

    def mkdir(self, path: str, mode: int = 0o755) -> None:
        d, n = split_path(path)
        self.create_entry(d, self.pb.Entry(name=n, is_directory=True,
                                           attributes=self.attrs(MODE_DIR | mode)))

    def mkdirs(self, path: str, mode: int = 0o755) -> None:
        cur = ""
        for part in [p for p in path.split("/") if p]:
            cur += "/" + part
            if self.lookup_path(cur) is None:
                self.mkdir(cur, mode)

    def symlink(self, path: str, target: str, mode: int = 0o777) -> None:
        d, n = split_path(path)
        self.create_entry(d, self.pb.Entry(
            name=n, attributes=self.attrs(MODE_SYMLINK | mode, symlink_target=target)))

    def create_file(self, path: str, chunks=(), size: int | None = None, mode: int = 0o660,
                    content: bytes = b"", extended: dict | None = None, mtime: int | None = None) -> None:
        d, n = split_path(path)
        if size is None:
            size = max([c.offset + c.size for c in chunks] + [len(content)])
        self.create_entry(d, self.pb.Entry(
            name=n, chunks=list(chunks), content=content, extended=extended or {},
            attributes=self.attrs(mode, size=size, mtime=mtime)))


def split_path(path: str) -> tuple[str, str]:
    path = "/" + path.strip("/")
    d, n = path.rsplit("/", 1)
    return (d or "/"), n


# --------------------------------------------------------------------------------------------
# the cluster
# --------------------------------------------------------------------------------------------


class Cluster:
    """A throw-away SeaweedFS cluster on loopback. Use as a context manager."""

    def __init__(self, encrypt: bool = False, filer_args: Iterable[str] = (),
                 server_args: Iterable[str] = (), extra_volumes: int = 0,
                 volume_size_limit_mb: int = 64, volume_max: int = 100, name: str = "cluster",
                 start_timeout: float = 90.0):
        self.encrypt = encrypt
        self.filer_args = list(filer_args)
        self.server_args = list(server_args)
        self.n_extra_volumes = extra_volumes
        self.volume_size_limit_mb = volume_size_limit_mb
        self.volume_max = volume_max
        self.name = name
        self.start_timeout = start_timeout
        self.dir: Path | None = None
        self.server: Proc | None = None
        self.procs: list[Proc] = []
        self.volume_ports: list[int] = []
        self._ports: list[int] = []
        self._grpc: FilerGrpc | None = None
        self._cleanup_fn = None
        self.host = "127.0.0.1"  # where the servers listen; a subclass may bind elsewhere
        self.launch_prefix: list[str] = []  # e.g. ["ip", "netns", "exec", NS] to run it in a namespace

    # -- addresses
    @property
    def filer_addr(self) -> str:
        """host:httpPort, what -filer= takes (gRPC is +10000)."""
        return f"{self.host}:{self.filer_port}"

    @property
    def filer_grpc_addr(self) -> str:
        return f"{self.host}:{self.filer_port + 10000}"

    @property
    def filer_url(self) -> str:
        return f"http://{self.host}:{self.filer_port}"

    @property
    def master_url(self) -> str:
        return f"http://{self.host}:{self.master_port}"

    @property
    def master_addr(self) -> str:
        return f"{self.host}:{self.master_port}"

    def volume_url(self, i: int = 0) -> str:
        return f"http://{self.host}:{self.volume_ports[i]}"

    # -- lifecycle
    def __enter__(self) -> "Cluster":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop(failed=exc[0] is not None)

    def start(self) -> None:
        sweep_stale()
        self.dir = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + self.name + "-"))
        (self.dir / "logs").mkdir()
        (self.dir / "data").mkdir()
        self._cleanup_fn = _register_cleanup(lambda: self.stop())
        self.master_port = free_port_pair()
        self.volume_ports = [free_port_pair()]
        self.filer_port = free_port_pair()
        self._ports = [self.master_port, self.volume_ports[0], self.filer_port]
        argv = [*self.launch_prefix, WEED_BIN, f"-logdir={self.dir / 'logs'}", "server",
                f"-dir={self.dir / 'data'}", f"-ip={self.host}", f"-ip.bind={self.host}",
                "-master=true", "-volume=true", "-filer",
                "-s3=false", "-webdav=false", "-sftp=false", "-iam=false",
                "-mq.broker=false", "-mq.agent=false",
                f"-master.port={self.master_port}", f"-volume.port={self.volume_ports[0]}",
                f"-filer.port={self.filer_port}",
                f"-master.volumeSizeLimitMB={self.volume_size_limit_mb}",
                f"-volume.max={self.volume_max}", "-master.telemetry=false",
                "-volume.preStopSeconds=0",
                f"-filer.localSocket={self.dir / 'filer.sock'}"]
        if self.encrypt:
            argv.append("-filer.encryptVolumeData")
        argv += self.server_args
        argv += [a if a.startswith("-filer.") else "-filer." + a.lstrip("-") for a in self.filer_args]
        try:
            self.server = Proc("weed-server", argv, self.dir / "weed-server.log", cwd=str(self.dir))
            self.procs.append(self.server)
            deadline = time.monotonic() + self.start_timeout
            self._wait_master(deadline, expect_nodes=1)
            for _ in range(self.n_extra_volumes):
                self.add_volume_server(wait=False)
            self._wait_ready(deadline)
        except BaseException:
            print(self.logs_tail(), file=sys.stderr)
            self.stop(failed=True)
            raise

    def _wait_ready(self, deadline: float) -> None:
        """Master with every volume server registered, each volume server, the filer, and a write."""
        self._wait_master(deadline, expect_nodes=len(self.volume_ports))
        for i in range(len(self.volume_ports)):
            self._wait_http(self.volume_url(i) + "/status", deadline, "volume server")
        self._wait_http(self.filer_url + "/?pretty=y", deadline, "filer")
        self._wait_write_path(deadline)

    def stop(self, failed: bool = False) -> None:
        with shielded():
            self._stop(failed)

    def _stop(self, failed: bool) -> None:
        if self._cleanup_fn:
            _unregister_cleanup(self._cleanup_fn)
            self._cleanup_fn = None
        if self._grpc:
            with contextlib.suppress(Exception):
                self._grpc.close()
            self._grpc = None
        for p in reversed(self.procs):
            p.stop(timeout=3)
        self.procs.clear()
        _remove_weed_sockets(self._ports + [p + 10000 for p in self._ports])
        if self.dir and self.dir.exists():
            if KEEP or failed and os.environ.get("INTEG_KEEP_ON_FAILURE"):
                print(f"harness: kept {self.dir}", file=sys.stderr)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def logs_tail(self, lines: int = 40) -> str:
        out = []
        for p in self.procs:
            out.append(f"----- {p.name} ({p.log_path}) rc={p.returncode} -----\n{p.tail(lines)}")
        return "\n".join(out)

    def _check_alive(self) -> None:
        for p in self.procs:
            if not p.alive():
                raise HarnessError(f"{p.name} exited with {p.returncode}:\n{p.tail()}")

    def _poll(self, deadline: float, what: str, fn: Callable[[], bool]) -> None:
        last = None
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if fn():
                    return
            except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
                last = e
            time.sleep(0.1)
        raise HarnessError(f"timed out waiting for {what} (last error: {last!r})")

    def _wait_master(self, deadline: float, expect_nodes: int) -> None:
        def ok():
            r = http_request(self.master_url + "/cluster/status", timeout=5)
            if r.status != 200 or not r.json().get("IsLeader"):
                return False
            topo = http_request(self.master_url + "/dir/status", timeout=5).json()["Topology"]
            nodes = [n for dc in topo.get("DataCenters") or [] for rk in dc.get("Racks") or []
                     for n in rk.get("DataNodes") or []]
            return len(nodes) >= expect_nodes
        self._poll(deadline, f"master with {expect_nodes} volume server(s)", ok)

    def _wait_http(self, url: str, deadline: float, what: str) -> None:
        self._poll(deadline, f"{what} at {url}",
                   lambda: http_request(url, timeout=5).status == 200)

    def _wait_write_path(self, deadline: float) -> None:
        def ok():
            r = http_request(self.master_url + "/dir/assign", timeout=10)
            if r.status != 200 or "fid" not in r.json():
                return False
            probe = f"/.integ-probe/{uuid.uuid4().hex}"
            data = b"probe " + os.urandom(16).hex().encode()
            if self.put(probe, data, check=False).status not in (200, 201):
                return False
            good = self.get(probe) == data
            self.delete("/.integ-probe", recursive=True)
            return good
        self._poll(deadline, "filer write+read path", ok)

    # -- restarting the `weed server` process (same argv: same ports, data dir and filer store)
    def stop_server(self, timeout: float = 30.0) -> int | None:
        """Stops the `weed server` process (SIGTERM; SIGKILL after `timeout`) and keeps everything
        needed to start it again with start_server(). Returns its exit code."""
        p = self.server
        if p is None:
            raise HarnessError("no weed server process to stop")
        rc = p.stop(signal.SIGTERM, timeout=timeout)
        with contextlib.suppress(ValueError):
            self.procs.remove(p)
        own = [self.master_port, self.volume_ports[0], self.filer_port]
        _remove_weed_sockets(own + [q + 10000 for q in own])
        return rc

    def start_server(self, timeout: float | None = None) -> None:
        """Starts `weed server` again with the argv of the stopped one and waits until the master,
        the volume servers, the filer and the write path answer."""
        if self.server is not None and self.server.alive():
            raise HarnessError("weed server is still running")
        argv = self.server.argv
        self.server = Proc("weed-server", argv, self.dir / "weed-server.log", cwd=str(self.dir))
        self.procs.insert(0, self.server)
        deadline = time.monotonic() + (timeout or self.start_timeout)
        try:
            self._wait_ready(deadline)
        except BaseException:
            print(self.logs_tail(), file=sys.stderr)
            raise

    def restart(self, stop_timeout: float = 30.0) -> None:
        """stop_server() + start_server(): the same process argv on the same ports and data dir."""
        self.stop_server(stop_timeout)
        self.start_server()

    # -- extra processes (agent, more volume servers, ...)
    def spawn(self, name: str, argv: list, env: dict | None = None, cwd: str | None = None) -> Proc:
        """Starts an extra process that lives as long as the cluster; log in <dir>/<name>.log."""
        p = Proc(name, argv, self.dir / f"{name}.log", env=env, cwd=cwd or str(self.dir))
        self.procs.append(p)
        return p

    def add_volume_server(self, wait: bool = True, extra_args: Iterable[str] = ()) -> int:
        i = len(self.volume_ports)
        port = free_port_pair()
        self._ports.append(port)
        self.volume_ports.append(port)
        vdir = self.dir / f"vol{i}"
        vdir.mkdir()
        self.spawn(f"weed-volume{i}", [
            WEED_BIN, f"-logdir={self.dir / 'logs'}", "volume", f"-dir={vdir}", "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1", f"-port={port}", f"-master={self.master_addr}",
            f"-max={self.volume_max}", "-preStopSeconds=0", *extra_args])
        if wait:
            deadline = time.monotonic() + self.start_timeout
            self._wait_master(deadline, expect_nodes=len(self.volume_ports))
            self._wait_http(self.volume_url(i) + "/status", deadline, "volume server")
        return i

    # -- gRPC
    @property
    def grpc(self) -> FilerGrpc:
        if self._grpc is None:
            self._grpc = FilerGrpc(self.filer_grpc_addr)
        return self._grpc

    # -- filer HTTP API
    def url(self, path: str, **query) -> str:
        return self.filer_url + quote_path(path) + _query(query)

    def put(self, path: str, data: bytes | Blob, check: bool = True, content_type: str | None = None,
            multipart: bool = False, filename: str | None = None, **query) -> Response:
        """Uploads a file. PUT with a raw body by default; POST multipart when multipart=True or
        saveInside is given (the filer honours saveInside only for POST). Query keys are passed
        as is: maxMB, offset, op='append', saveInside, mode (octal string), collection, ..."""
        blob = data if isinstance(data, Blob) else BytesBlob(data)
        if "mode" in query and isinstance(query["mode"], int):
            query["mode"] = format(query["mode"], "o")
        if query.get("saveInside"):
            multipart = True
        if multipart:
            directory, name = split_path(path)
            boundary = "----integ" + uuid.uuid4().hex
            fname = filename or name
            ctype = content_type or "application/octet-stream"
            head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                    f"filename=\"{fname}\"\r\nContent-Type: {ctype}\r\n\r\n").encode()
            tail = f"\r\n--{boundary}--\r\n".encode()

            def body():
                yield head
                yield from blob.iter_blocks()
                yield tail
            headers = {"Content-Type": f"multipart/form-data; boundary={boundary}",
                       "Content-Length": str(len(head) + blob.size + len(tail))}
            r = http_request(self.url(path, **query), "POST", body=body(), headers=headers, timeout=600)
        else:
            headers = {"Content-Length": str(blob.size)}
            if content_type:
                headers["Content-Type"] = content_type
            body = blob.bytes() if blob.size <= 4 * MiB else blob.iter_blocks()
            r = http_request(self.url(path, **query), "PUT", body=body, headers=headers, timeout=600)
        if check and r.status not in (200, 201):
            raise HarnessError(f"upload {path} {query}: HTTP {r.status}: {r.body[:500]!r}")
        return r

    def get(self, path: str, range_: tuple[int, int] | None = None, **query) -> bytes:
        headers = {}
        if range_:
            headers["Range"] = f"bytes={range_[0]}-{range_[1] - 1}"
        r = http_request(self.url(path, **query), headers=headers, timeout=600)
        if r.status not in (200, 206):
            raise HarnessError(f"GET {path}: HTTP {r.status}: {r.body[:300]!r}")
        return r.body

    def get_stream(self, path: str) -> Iterator[bytes]:
        return http_stream(self.url(path))

    def delete(self, path: str, recursive: bool = False) -> int:
        q = {"recursive": "true", "ignoreRecursiveError": "true"} if recursive else {}
        return http_request(self.url(path, **q), "DELETE").status

    def mkdir(self, path: str, mode: int = 0o755) -> None:
        """Creates a directory (and missing parents) via gRPC CreateEntry with ModeDir|mode."""
        self.grpc.mkdirs(path, mode)

    def mkdir_http(self, path: str) -> Response:
        """The filer's own way: POST to a path ending in '/' without a body."""
        return http_request(self.url(path.rstrip("/") + "/"), "POST", body=b"",
                            headers={"Content-Length": "0"})

    def symlink(self, path: str, target: str) -> None:
        """The filer HTTP API cannot create symlinks; CreateEntry with ModeSymlink|0777 can."""
        self.grpc.symlink(path, target)

    def metadata(self, path: str, resolve_manifest: bool = False) -> dict:
        q = {"metadata": "true"}
        if resolve_manifest:
            q["resolveManifest"] = "true"
        r = http_request(self.url(path, **q), headers={"Accept": "application/json"})
        if r.status != 200:
            raise HarnessError(f"metadata {path}: HTTP {r.status}: {r.body[:300]!r}")
        return r.json()

    def list(self, directory: str, limit: int = 1000) -> list[dict]:
        """All entries of a directory via the HTTP listing, paging with lastFileName/limit."""
        out: list[dict] = []
        last = ""
        d = directory.rstrip("/") + "/"
        while True:
            q = {"limit": limit}
            if last:
                q["lastFileName"] = last
            r = http_request(self.url(d, **q), headers={"Accept": "application/json"})
            if r.status != 200:
                raise HarnessError(f"list {directory}: HTTP {r.status}: {r.body[:300]!r}")
            j = r.json()
            entries = j.get("Entries") or []
            out += entries
            if not entries or not j.get("ShouldDisplayLoadMore"):
                return out
            last = j.get("LastFileName") or entries[-1]["FullPath"].rsplit("/", 1)[1]

    # -- volume server direct
    def upload_needle(self, data: bytes, assign=None, name: str = "n.bin",
                      content_type: str = "application/octet-stream") -> str:
        """Assigns a fid (gRPC AssignVolume) and POSTs `data` to the volume server. Returns the fid."""
        a = assign or self.grpc.assign()
        boundary = "----integ" + uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                f"Content-Type: {content_type}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        if a.auth:
            headers["Authorization"] = "Bearer " + a.auth
        r = http_request(f"http://{a.location.url}/{a.file_id}", "POST", body=body, headers=headers)
        if r.status not in (200, 201):
            raise HarnessError(f"needle upload {a.file_id}: HTTP {r.status}: {r.body[:300]!r}")
        return a.file_id

    def chunks_of(self, path: str, resolve_manifest: bool = False) -> list[dict]:
        return self.metadata(path, resolve_manifest).get("chunks") or []

    def describe_offset(self, path: str, off: int) -> str:
        """Which chunk(s) cover `off` (for failure messages)."""
        try:
            chunks = self.chunks_of(path, resolve_manifest=True)
        except Exception as e:  # noqa: BLE001
            return f"(no chunk info: {e})"
        hits = [c for c in chunks if c.get("offset", 0) <= off < c.get("offset", 0) + c.get("size", 0)]
        return (f"{len(chunks)} chunks; covering offset {off}: " +
                (", ".join(f"{c.get('file_id')}@[{c.get('offset', 0)},+{c.get('size')}) "
                           f"ts={c.get('modified_ts_ns')} gz={c.get('is_compressed', False)} "
                           f"enc={bool(c.get('cipher_key'))}" for c in hits) or "none (hole)"))


# --------------------------------------------------------------------------------------------
# the mount under test
# --------------------------------------------------------------------------------------------


class MountError(HarnessError):
    pass


_flag_cache: dict[str, str] = {}


def binary_has_flag(binary: str, flag: str) -> bool:
    """Whether `binary -h` lists -flag (so optional flags are passed only when supported)."""
    if binary not in _flag_cache:
        try:
            r = subprocess.run([binary, "-h"], capture_output=True, timeout=10, text=True)
            _flag_cache[binary] = r.stdout + r.stderr
        except (OSError, subprocess.TimeoutExpired):
            _flag_cache[binary] = ""
    return f"-{flag}" in _flag_cache[binary]


class Mount:
    """Runs the FUSE client on a fresh mountpoint; a context manager.

    Mount(cluster, ["-readOnly"]) -> mounted at .path once /proc/mounts shows it."""

    def __init__(self, cluster: Cluster | None = None, args: Iterable[str] = (),
                 filer: str | None = None, binary: str | None = None, rdma: bool = False,
                 env: dict | None = None, ready_timeout: float = 30.0, name: str = "mount"):
        self.cluster = cluster
        self.filer = filer or (cluster.filer_addr if cluster else None)
        self.binary = binary or MOUNT_BIN
        self.args = list(args)
        self.rdma = rdma
        self.env = env
        self.ready_timeout = ready_timeout
        self.name = name
        self.path: Path | None = None
        self.proc: Proc | None = None
        self.returncode: int | None = None
        self._cleanup_fn = None
        self.log_dir = None

    def argv(self) -> list[str]:
        a = [self.binary, f"-filer={self.filer}"]
        if (not self.rdma and not any(x.startswith("-rdma.enabled") for x in self.args)
                and binary_has_flag(self.binary, "rdma.enabled")):
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
        self.path = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "mnt-"))
        self.log_dir = (self.cluster.dir if self.cluster and self.cluster.dir
                        else Path(tempfile.gettempdir()))
        self._cleanup_fn = _register_cleanup(lambda: self.stop())
        log = self.log_dir / f"{self.name}-{self.path.name}.log"
        self.proc = Proc(self.name, self.argv(), log, env=self.env)
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
            _unregister_cleanup(self._cleanup_fn)
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


# --------------------------------------------------------------------------------------------
# helpers for tests
# --------------------------------------------------------------------------------------------


class Stats:
    """Counts what the tests compared; printed in pytest's terminal summary."""

    def __init__(self):
        self.files = 0
        self.bytes = 0
        self.preads = 0
        self.pread_bytes = 0
        self.mismatches: list[str] = []
        self.notes: list[str] = []

    def add(self, nbytes: int, files: int = 1):
        self.files += files
        self.bytes += nbytes

    def summary(self) -> str:
        s = (f"compared {self.files} files / {self.bytes} bytes ({self.bytes / MiB:.1f} MiB) "
             f"sequentially, {self.preads} random preads / {self.pread_bytes} bytes; "
             f"{len(self.mismatches)} mismatches")
        return s


STATS = Stats()


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


def errno_name(e: int) -> str:
    return errno.errorcode.get(e, str(e))


def verify_sequential(items: Iterable[tuple[Path, str, Blob]], cluster: Cluster | None = None,
                      block: int = MiB, stats: Stats = STATS) -> list[Mismatch]:
    """Reads every (mount path, filer path, expected) item front to back in `block` reads and
    compares with the expected bytes; returns the mismatches (with the covering chunk named)."""
    bad = []
    for mpath, fpath, blob in items:
        try:
            n, mm = compare_stream(fpath, read_file_blocks(mpath, block), blob)
        except OSError as e:
            n, mm = 0, Mismatch(fpath, -1, f"read error {errno_name(e.errno)}: {e}")
        stats.add(n)
        if mm:
            if cluster and mm.offset >= 0:
                mm.detail += "; " + cluster.describe_offset(fpath, mm.offset)
            bad.append(mm)
            stats.mismatches.append(str(mm))
    return bad


def pread_plan(size: int, seed: int, count: int, boundaries: Iterable[int] = ()) -> list[tuple[int, int]]:
    """Seeded (offset, length) pairs: uniform, around chunk boundaries, and across EOF."""
    rng = random.Random(seed)
    plan = []
    bl = [b for b in boundaries if 0 < b < size]
    for i in range(count):
        r = rng.random()
        if r < 0.3 and bl:
            off = max(0, rng.choice(bl) + rng.randint(-4096, 4096))
        elif r < 0.4:
            off = max(0, size - rng.randint(0, 70000))          # tail / across EOF
        else:
            off = rng.randrange(0, max(1, size))
        ln = rng.choice((1, 7, 512, 4096, 4097, 65536, 131072 + 3, rng.randint(1, 3 * MiB)))
        plan.append((off, ln))
    if size:
        plan += [(size - 1, 10), (size, 10), (size + 4096, 1)]
    return plan


def verify_preads(items: Iterable[tuple[Path, str, Blob]], seed: int, count: int = 20,
                  cluster: Cluster | None = None, boundaries: Callable[[str, int], list] | None = None,
                  stats: Stats = STATS) -> list[Mismatch]:
    """Random-offset preads compared with the expected bytes (short reads are continued)."""
    bad = []
    for k, (mpath, fpath, blob) in enumerate(items):
        plan = pread_plan(blob.size, seed * 7919 + k, count,
                          boundaries(fpath, blob.size) if boundaries else
                          range(MiB, blob.size, MiB))
        try:
            fd = os.open(mpath, os.O_RDONLY)
        except OSError as e:
            bad.append(Mismatch(fpath, -1, f"open error {errno_name(e.errno)}"))
            continue
        try:
            for off, ln in plan:
                exp = blob.read(off, ln) if off < blob.size else b""
                got = bytearray()
                try:
                    while len(got) < ln:
                        b = os.pread(fd, ln - len(got), off + len(got))
                        if not b:
                            break
                        got += b
                except OSError as e:
                    mm = Mismatch(fpath, off, f"pread({ln}) error {errno_name(e.errno)}")
                    bad.append(mm)
                    stats.mismatches.append(str(mm))
                    continue
                stats.preads += 1
                stats.pread_bytes += len(got)
                if bytes(got) != exp:
                    d = first_difference(bytes(got), exp)
                    mm = Mismatch(fpath, off + d, f"pread(off={off}, len={ln}) returned {len(got)} bytes, "
                                                  f"expected {len(exp)}; first difference at +{d}: got "
                                                  f"{bytes(got[d:d + 16]).hex()} expected {exp[d:d + 16].hex()}")
                    if cluster:
                        mm.detail += "; " + cluster.describe_offset(fpath, off + d)
                    bad.append(mm)
                    stats.mismatches.append(str(mm))
        finally:
            os.close(fd)
    return bad


def format_mismatches(bad: list[Mismatch], limit: int = 20) -> str:
    return "\n".join(str(m) for m in bad[:limit]) + (f"\n... {len(bad) - limit} more" if len(bad) > limit else "")


def upload_tree(cluster: Cluster, local: str | os.PathLike, remote: str, dir_mode: int = 0o755,
                **query) -> dict:
    """Mirrors a local tree into the filer: directories (also empty ones) via gRPC mkdir, files via
    HTTP PUT with the local permission bits as ?mode=, symlinks via gRPC. Returns counts."""
    local = Path(local)
    counts = {"dirs": 0, "files": 0, "symlinks": 0, "bytes": 0}
    cluster.mkdir(remote, dir_mode)
    for dirpath, dirnames, filenames in os.walk(local):
        rel = os.path.relpath(dirpath, local)
        rdir = remote if rel == "." else f"{remote}/{rel}"
        for d in sorted(dirnames):
            lp = Path(dirpath) / d
            if lp.is_symlink():
                cluster.symlink(f"{rdir}/{d}", os.readlink(lp))
                counts["symlinks"] += 1
            else:
                cluster.grpc.mkdir(f"{rdir}/{d}", dir_mode)
                counts["dirs"] += 1
        for f in sorted(filenames):
            lp = Path(dirpath) / f
            if lp.is_symlink():
                cluster.symlink(f"{rdir}/{f}", os.readlink(lp))
                counts["symlinks"] += 1
                continue
            data = lp.read_bytes()
            cluster.put(f"{rdir}/{f}", data, mode=lp.stat().st_mode & 0o777, **query)
            counts["files"] += 1
            counts["bytes"] += len(data)
    return counts

"""Python binding (ctypes) of libseaweed-rdma-read.so: read files of a seaweed-rdma mount straight
from the RDMA agents, without LD_PRELOAD. See docs/PRELOAD.md.

    import seaweed_rdma
    with seaweed_rdma.open("/mnt/seaweed/train/shard-0001.bin") as f:
        header = f.pread(4096, 0)
        buf = bytearray(1 << 20)
        n = f.readinto_at(buf, 1 << 20)           # no copy: straight into buf
        parts = f.pread_batch([(0, 4096), (8 << 20, 1 << 20)])   # in parallel
    print(seaweed_rdma.stats())

Files the library cannot serve (not on a seaweed-rdma mount, inline content; see docs/PRELOAD.md
"What the preload intercepts") raise OSError(ENOTSUP) from open(); a data loader can then fall back to io.open.
The library is found through SEAWEED_RDMA_READ_LIB, then next to this package's build tree,
then by the dynamic loader's search path; load(path) picks one explicitly."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

__all__ = ["load", "open", "open_filer_path", "File", "stats", "stats_line", "api_version"]

_lib: ctypes.CDLL | None = None


class _ReadRequest(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("len", ctypes.c_size_t), ("offset", ctypes.c_uint64),
                ("result", ctypes.c_ssize_t)]


_STATS_FIELDS = ["opens_served", "opens_declined", "reads_served", "reads_fallback", "bytes_served",
                 "bytes_fallback", "bytes_rdma", "bytes_http", "declined_inline", "declined_tokens",
                 "declined_snapshot", "declined_other", "fallback_read_error"]


class _Stats(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in _STATS_FIELDS]


def _candidates() -> list[str]:
    env = os.environ.get("SEAWEED_RDMA_READ_LIB")
    if env:
        return [env]
    here = Path(__file__).resolve().parent
    out = [str(here.parent.parent / "build" / "lib" / "libseaweed-rdma-read.so")]
    found = ctypes.util.find_library("seaweed-rdma-read")
    out.append(found or "libseaweed-rdma-read.so.1")
    return out


def load(path: str | None = None) -> ctypes.CDLL:
    """Loads the library (once); returns it."""
    global _lib
    if _lib is not None and path is None:
        return _lib
    errors = []
    for candidate in ([path] if path else _candidates()):
        try:
            lib = ctypes.CDLL(candidate, use_errno=True)
            break
        except OSError as e:
            errors.append(f"{candidate}: {e}")
    else:
        raise OSError("libseaweed-rdma-read.so not found: " + "; ".join(errors))
    lib.swr_api_version.restype = ctypes.c_int
    lib.swr_open.argtypes = [ctypes.c_char_p]
    lib.swr_open.restype = ctypes.c_void_p
    lib.swr_open_filer_path.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.swr_open_filer_path.restype = ctypes.c_void_p
    lib.swr_pread.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint64]
    lib.swr_pread.restype = ctypes.c_ssize_t
    lib.swr_pread_batch.argtypes = [ctypes.c_void_p, ctypes.POINTER(_ReadRequest), ctypes.c_size_t]
    lib.swr_pread_batch.restype = ctypes.c_int
    lib.swr_size.argtypes = [ctypes.c_void_p]
    lib.swr_size.restype = ctypes.c_uint64
    lib.swr_snapshot_id.argtypes = [ctypes.c_void_p]
    lib.swr_snapshot_id.restype = ctypes.c_uint64
    lib.swr_close.argtypes = [ctypes.c_void_p]
    lib.swr_close.restype = ctypes.c_int
    lib.swr_get_stats.argtypes = [ctypes.POINTER(_Stats), ctypes.c_size_t]
    lib.swr_get_stats.restype = ctypes.c_int
    lib.swr_format_stats.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.swr_format_stats.restype = ctypes.c_int
    if lib.swr_api_version() != 1:
        raise OSError(f"libseaweed-rdma-read API version {lib.swr_api_version()}, this binding speaks 1")
    _lib = lib
    return lib


def _error(what: str) -> OSError:
    e = ctypes.get_errno()
    return OSError(e, f"{what}: {os.strerror(e)}")


def _buffer_address(buf) -> tuple[int, int]:
    """(address, length) of a writable buffer (bytearray, memoryview, numpy array, ...)."""
    mv = memoryview(buf).cast("B")
    if mv.readonly:
        raise TypeError("buffer is read-only")
    c = (ctypes.c_char * len(mv)).from_buffer(mv)
    return ctypes.addressof(c), len(mv)


class File:
    """One open file (a snapshot of it, for the life of the handle). Thread-safe."""

    def __init__(self, handle: int, name: str):
        self._h = handle
        self.name = name
        self.size = load().swr_size(handle)
        self.snapshot_id = load().swr_snapshot_id(handle)

    def _handle(self) -> int:
        if not self._h:
            raise ValueError("I/O operation on closed file")
        return self._h

    def readinto_at(self, buf, offset: int) -> int:
        """Reads len(buf) bytes at offset straight into buf; returns the count (short only at EOF)."""
        addr, n = _buffer_address(buf)
        got = load().swr_pread(self._handle(), addr, n, offset)
        if got < 0:
            raise _error(f"pread {self.name} at {offset}")
        return got

    def pread(self, length: int, offset: int) -> bytes:
        buf = bytearray(length)
        n = self.readinto_at(buf, offset)
        return bytes(buf[:n]) if n < length else bytes(buf)

    def pread_batch(self, requests: list[tuple[int, int]]) -> list[bytes]:
        """[(offset, length), ...] read in parallel; the bytes of each, in order."""
        bufs = [bytearray(length) for _, length in requests]
        reqs = (_ReadRequest * len(requests))()
        keep = []
        for i, ((offset, length), b) in enumerate(zip(requests, bufs)):
            c = (ctypes.c_char * max(1, length)).from_buffer(b if length else bytearray(1))
            keep.append(c)
            reqs[i].buf, reqs[i].len, reqs[i].offset, reqs[i].result = ctypes.addressof(c), length, offset, 0
        if load().swr_pread_batch(self._handle(), reqs, len(requests)) < 0:
            raise _error(f"pread_batch {self.name}")
        out = []
        for i, b in enumerate(bufs):
            r = reqs[i].result
            if r < 0:
                raise OSError(-r, f"pread {self.name} at {reqs[i].offset}: {os.strerror(-r)}")
            out.append(bytes(b[:r]))
        return out

    def read_all(self, block: int = 8 << 20) -> bytes:
        out = bytearray(self.size)
        done = 0
        view = memoryview(out)
        while done < self.size:
            n = self.readinto_at(view[done:done + block], done)
            if n == 0:
                break
            done += n
        return bytes(out[:done])

    def close(self) -> None:
        if self._h:
            h, self._h = self._h, 0
            if load().swr_close(h) != 0:
                raise _error(f"close {self.name}")

    def __enter__(self) -> "File":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finaliser
            pass


def open(path: str | os.PathLike) -> File:  # noqa: A001 - mirrors io.open for loaders
    """Opens a file on a seaweed-rdma mount; OSError(ENOTSUP) when the library cannot serve it."""
    h = load().swr_open(os.fsencode(path))
    if not h:
        raise _error(f"open {path}")
    return File(h, os.fspath(path))


def open_filer_path(filer: str | None, filer_path: str) -> File:
    """Opens filer_path of the filer "host:port" through a live mount of it (/proc/self/mountinfo)."""
    h = load().swr_open_filer_path(filer.encode() if filer else None, filer_path.encode())
    if not h:
        raise _error(f"open {filer or ''}{filer_path}")
    return File(h, filer_path)


def stats() -> dict[str, int]:
    s = _Stats()
    if load().swr_get_stats(ctypes.byref(s), ctypes.sizeof(s)) < 0:
        raise _error("stats")
    return {name: getattr(s, name) for name in _STATS_FIELDS}


def stats_line() -> str:
    buf = ctypes.create_string_buffer(1024)
    load().swr_format_stats(buf, len(buf))
    return buf.value.decode()


def api_version() -> int:
    return load().swr_api_version()

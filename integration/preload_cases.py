"""Cases run inside a process started with LD_PRELOAD=libseaweed-rdma-preload.so (by
test_preload.py). Each prints one JSON object on stdout; the test compares it with the uploaded
bytes. Plain os.* calls: CPython's os.read/os.pread/os.readv/os.dup/os.fork are the libc calls
the preload wraps."""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import subprocess
import sys
import threading

MiB = 1 << 20


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def read_all(fd: int, block: int = MiB) -> bytes:
    out = []
    while True:
        b = os.read(fd, block)
        if not b:
            return b"".join(out)
        out.append(b)


def case_dup(path: str) -> dict:
    """Reads alternate between an fd, its dup, its dup2 and an F_DUPFD copy: one offset."""
    import fcntl
    fd = os.open(path, os.O_RDONLY)
    d1 = os.dup(fd)
    d2 = os.dup2(fd, 99)
    d3 = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 200)
    fds = [fd, d1, d2, d3]
    parts, i = [], 0
    while True:
        b = os.read(fds[i % 4], 100_000 + i)
        if not b:
            break
        parts.append(b)
        i += 1
    offsets = [os.lseek(x, 0, os.SEEK_CUR) for x in fds]
    os.close(fd)  # the others keep the description alive
    os.lseek(d1, 12345, os.SEEK_SET)
    after_close = os.read(d2, 1000)
    for x in (d1, d2, d3):
        os.close(x)
    return {"sha": sha(b"".join(parts)), "reads": i, "offsets": offsets, "after_close": sha(after_close)}


def case_threads(path: str) -> dict:
    """Four threads read one fd with os.read until EOF: every chunk is a distinct block-aligned
    piece (the shared offset advances once per read)."""
    fd = os.open(path, os.O_RDONLY)
    block = 65536
    got: list[bytes] = []
    lock = threading.Lock()

    def worker():
        while True:
            b = os.read(fd, block)
            if not b:
                return
            with lock:
                got.append(b)

    ts = [threading.Thread(target=worker) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    os.close(fd)
    return {"pieces": [sha(b) for b in got], "sizes": [len(b) for b in got]}


def case_fork(path: str) -> dict:
    """Open, read 1 MiB, fork: the child reads the next 3 MiB and preads at 0, the parent then
    continues at the shared offset (one open file description) and preads too."""
    fd = os.open(path, os.O_RDONLY)
    first = os.read(fd, MiB)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            child = os.read(fd, 3 * MiB)
            child_pread = os.pread(fd, 4096, 0)
            # the child leaves with os._exit (no exit line): ask the library for its counters
            import ctypes
            line = ctypes.create_string_buffer(1024)
            ctypes.CDLL(None).swr_format_stats(line, len(line))
            msg = json.dumps({"child": sha(child), "n": len(child), "pread": sha(child_pread),
                              "stats": line.value.decode()}).encode()
        except Exception as e:  # noqa: BLE001 - reported to the parent
            msg = json.dumps({"error": repr(e)}).encode()
        os.write(w, msg)
        os._exit(0)
    os.close(w)
    child = json.loads(read_all(r))
    os.close(r)
    _, status = os.waitpid(pid, 0)
    rest = read_all(fd)
    parent_pread = os.pread(fd, 4096, 0)
    os.close(fd)
    return {"first": sha(first), "child": child, "status": status, "rest": sha(rest), "rest_n": len(rest),
            "pread": sha(parent_pread)}


def case_exec(path: str) -> dict:
    """Read 1 MiB, then exec programs with the fd inherited: `cat` reads the rest from its stdin
    (found lazily by the preload in the new process), and an unrelated program just runs."""
    fd = os.open(path, os.O_RDONLY)
    first = os.read(fd, MiB)
    out = subprocess.run(["cat"], stdin=fd, capture_output=True, check=True).stdout
    unrelated = subprocess.run(["sh", "-c", "echo hello; exit 3"], capture_output=True)
    at_end = os.read(fd, 10)
    os.close(fd)
    return {"first": sha(first), "rest": sha(out), "rest_n": len(out), "unrelated_rc": unrelated.returncode,
            "unrelated_out": unrelated.stdout.decode(), "at_end": len(at_end)}


def case_otherfs(path: str) -> dict:
    """A file of another file system, read with the same calls."""
    with open(path, "wb") as f:
        f.write(os.urandom(3 * MiB + 5))
    with open(path, "rb") as f:
        want = f.read()
    fd = os.open(path, os.O_RDONLY)
    got = read_all(fd, 100_000)
    p = os.pread(fd, 1000, 5)
    os.close(fd)
    return {"same": got == want and p == want[5:1005]}


def case_mmap(path: str) -> dict:
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    with mmap.mmap(fd, size, prot=mmap.PROT_READ) as m:
        whole = sha(m[:])
        mid = sha(m[size // 2:size // 2 + 5000])
    os.close(fd)
    return {"sha": whole, "mid": mid}


def case_readv(path: str) -> dict:
    """readv/preadv with several buffers, and reads at and past EOF."""
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    bufs = [bytearray(4097), bytearray(MiB), bytearray(3)]
    n = os.readv(fd, bufs)
    head = b"".join(bytes(b) for b in bufs)[:n]
    bufs2 = [bytearray(1000), bytearray(2000)]
    n2 = os.preadv(fd, bufs2, size - 1500)
    tail = b"".join(bytes(b) for b in bufs2)[:n2]
    past = os.pread(fd, 10, size + 10)
    os.lseek(fd, 0, os.SEEK_END)
    eof = os.read(fd, 10)
    os.close(fd)
    return {"head": sha(head), "n": n, "tail": sha(tail), "n2": n2, "past": len(past), "eof": len(eof)}


def case_stepwise(path: str) -> dict:
    """Reads half, says so on stdout, waits for a line on stdin (the test changes something
    meanwhile), reads the rest: the sha of the whole as read through this one fd."""
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    first = b""
    while len(first) < size // 2:
        b = os.read(fd, min(MiB, size // 2 - len(first)))
        if not b:
            break
        first += b
    print("half", flush=True)
    sys.stdin.readline()
    rest = read_all(fd)
    os.close(fd)
    return {"sha": sha(first + rest), "n": len(first) + len(rest)}


def case_sha(path: str) -> dict:
    """A Python reader: buffered io in 256 KiB reads, hashing as it goes."""
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while True:
            b = f.read(256 * 1024)
            if not b:
                break
            h.update(b)
    return {"sha": h.hexdigest()}


def case_whole(path: str) -> dict:
    """A data loader's habit: the whole file in one read() (one large read through the library)."""
    with open(path, "rb") as f:
        data = f.read()
    return {"sha": sha(data)}


if __name__ == "__main__":
    name, arg = sys.argv[1], sys.argv[2]
    print(json.dumps(globals()[f"case_{name}"](arg)), flush=True)

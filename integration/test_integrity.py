"""No wrong byte ever reaches an application: needles damaged on disk, read through the mount.

Files of 3 chunks; the 2nd chunk's needle is damaged in a volume server's .dat: one byte flipped
inside its data, or the .dat truncated in the middle of it. Collections keep each file in volumes
of its own. With one replica the damaged chunk must read as EIO (and everything else exactly);
with two replicas (replication 001 over two volume servers, the damage on one of them) every
byte must read exactly. Read with the agent on and off, buffered, O_DIRECT, mmap and 4 KiB
random O_DIRECT preads; every byte returned is compared with what was uploaded.

1 MiB chunks are what the volume server checks itself on a whole GET (it answers 500); 2 MiB
chunks it streams, checking the CRC only at the end (the body arrives, possibly cut short): the
mount's own CRC-32C check must refuse those.
"""

from __future__ import annotations

import mmap
import os
import random
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness import STATS, Cluster, MiB, errno_name, random_bytes
from test_rdma import Agent, RdmaMount, volume_server_key

pytestmark = pytest.mark.fault

PAGE = 4096


@dataclass
class Damaged:
    path: str               # filer path
    data: bytes             # what was uploaded
    chunk: int              # chunk size
    replicas: int           # copies of each needle
    how: str                # "flip" or "truncate"
    fid: str = ""           # the damaged (2nd) chunk's needle
    dat: Path | None = None  # the .dat that was damaged
    server: int = 0          # index of the volume server holding it
    bad_range: tuple[int, int] = (0, 0)  # file bytes of the damaged chunk(s)


def find_dats(cluster: Cluster, collection: str) -> list[Path]:
    return sorted(cluster.dir.rglob(f"{collection}_*.dat"))


def asked_order(cluster: Cluster, fid: str) -> list[str]:
    """The replicas of fid's volume in the order the mount asks them: from index hash(key) % n of
    the filer's LookupVolume list (src/transport/replica_order.h)."""
    g = cluster.grpc
    vid = fid.split(",")[0]
    r = g.stub.LookupVolume(g.pb.LookupVolumeRequest(volume_ids=[vid]), timeout=30)
    urls = [loc.url for loc in r.locations_map[vid].locations]
    key = int(fid.split(",")[1][:-8], 16)
    first = (((key * 0x9E3779B97F4A7C15) % (1 << 64)) >> 32) % len(urls)
    return urls[first:] + urls[:first]


def damage(cluster: Cluster, f: Damaged, collection: str, on_server: int | str | None = None) -> None:
    """Flips one byte inside the 2nd chunk's data, or truncates its .dat in the middle of it, in
    one replica: the one on volume server `on_server` when given, or ("first"/"second") the one
    the mount asks first/second."""
    chunks = sorted(cluster.chunks_of(f.path), key=lambda c: int(c.get("offset", 0)))
    assert len(chunks) == 3, f"{f.path}: expected 3 chunks, got {chunks}"
    second = chunks[1]
    f.fid = second["file_id"]
    if on_server in ("first", "second"):
        url = asked_order(cluster, f.fid)[0 if on_server == "first" else 1]
        on_server = next(i for i in range(2) if volume_server_key(cluster, i) == url)
    start = int(second.get("offset", 0))
    f.bad_range = (start, start + int(second["size"]))
    probe = f.data[start:start + 64]  # the needle's data sits contiguously in the .dat
    hits = []
    for dat in find_dats(cluster, collection):
        blob = dat.read_bytes()
        pos = blob.find(probe)
        if pos >= 0:
            hits.append((dat, pos))
    assert len(hits) == f.replicas, f"{f.path}: chunk 2 found in {len(hits)} .dat files, expected {f.replicas}"
    if on_server is not None:
        vdir = cluster.dir / ("data" if on_server == 0 else f"vol{on_server}")
        hits = [h for h in hits if vdir in h[0].parents]
        assert hits, f"{f.path}: no replica on volume server {on_server}"
    dat, pos = hits[0]
    f.dat = dat
    f.server = 0 if (cluster.dir / "data") in dat.parents else int(dat.relative_to(cluster.dir).parts[0][3:])
    if f.how == "truncate":
        # Chunks that sit after the 2nd in the same .dat are cut off with it: the 3rd often, the
        # 1st too when the filer's concurrent chunk uploads reached the volume server out of order.
        blob, cut = dat.read_bytes(), pos + 3 * PAGE
        for other in (chunks[0], chunks[2]):
            ostart = int(other.get("offset", 0))
            if blob.find(f.data[ostart:ostart + 64]) >= cut:
                f.bad_range = (min(f.bad_range[0], ostart), max(f.bad_range[1], ostart + int(other["size"])))
    with open(dat, "r+b") as out:
        if f.how == "flip":
            out.seek(pos + 1001)
            b = out.read(1)
            out.seek(pos + 1001)
            out.write(bytes([b[0] ^ 0x10]))
        else:
            out.truncate(pos + 3 * PAGE)
        out.flush()
        os.fsync(out.fileno())


@pytest.fixture(scope="module")
def cl():
    with Cluster(name="integrity", extra_volumes=1) as c:
        yield c


@pytest.fixture(scope="module")
def files(cl):
    """Uploads every file, then damages each (before any agent maps a .dat)."""
    specs = []
    for how in ("flip", "truncate"):
        for chunk in (MiB, 2 * MiB):
            for replicas in (1, 2):
                # with two replicas, damage the copy the mount asks first once (it must fall over
                # to the other) and the one it asks second once
                for on_server in ((None,) if replicas == 1 else ("first", "second")):
                    specs.append((how, chunk, replicas, on_server))
    out = []
    for i, (how, chunk, replicas, on_server) in enumerate(specs):
        collection = f"c{i}"
        f = Damaged(path=f"/integrity/{how}-{chunk // MiB}m-r{replicas}-{i}.bin",
                    data=random_bytes(7000 + i, 3 * chunk), chunk=chunk, replicas=replicas, how=how)
        cl.put(f.path, f.data, maxMB=chunk // MiB, collection=collection,
               replication="001" if replicas == 2 else "000")
        damage(cl, f, collection, on_server)
        out.append(f)
    STATS.notes.append("integrity: " + ", ".join(f"{Path(f.path).name} ({f.fid}, {f.dat.parent.name})" for f in out))
    return out


@pytest.fixture(scope="module")
def agents(cl, files):
    """One agent per volume server, started after the damage was done."""
    started = []
    for i in range(2):
        a = Agent(cl, name=f"agent{i}", dirs=cl.dir / ("data" if i == 0 else f"vol{i}"),
                  volume_server=volume_server_key(cl, i))
        a.start()
        started.append(a)
    yield started
    for a in started:
        a.stop()


@pytest.fixture(scope="module", params=["http", "agent"])
def mount(request, cl, files):
    if request.param == "http":
        m = RdmaMount(cl, None, ["-rdma.enabled=false"], name="integrity-http")
    else:
        agents = request.getfixturevalue("agents")
        m = RdmaMount(cl, {a.volume_server: a.address for a in agents}, name="integrity-agent")
    m.mode = request.param
    with m:
        yield m


# ---- the four ways of reading, each returning what it saw

@dataclass
class Outcome:
    compared: int = 0                                  # bytes returned and compared
    wrong: int = 0                                     # of those, bytes that differ
    errors: list = field(default_factory=list)        # (offset, errno name) of failed reads
    first_wrong: int | None = None


def compare(o: Outcome, off: int, got: bytes, want: bytes) -> None:
    o.compared += len(got)
    if got != want[:len(got)] or len(got) > len(want):
        diff = sum(1 for x, y in zip(got, want) if x != y) + max(0, len(got) - len(want))
        o.wrong += diff
        if o.first_wrong is None:
            o.first_wrong = off + next((i for i, (x, y) in enumerate(zip(got, want)) if x != y), len(want))


def drop_page_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def read_buffered(path: Path, data: bytes) -> Outcome:
    o = Outcome()
    with open(path, "rb", buffering=0) as fh:
        off = 0
        while True:
            try:
                b = fh.read(MiB)
            except OSError as e:
                o.errors.append((off, errno_name(e.errno)))
                break
            if not b:
                break
            compare(o, off, b, data[off:off + len(b)])
            off += len(b)
    return o


def read_direct(path: Path, data: bytes, offsets, size: int) -> Outcome:
    o = Outcome()
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, size)
    try:
        for off in offsets:
            try:
                n = os.preadv(fd, [buf], off)
            except OSError as e:
                o.errors.append((off, errno_name(e.errno)))
                continue
            compare(o, off, bytes(buf[:n]), data[off:off + size])
    finally:
        os.close(fd)
        buf.close()
    return o


MMAP_READER = r"""
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
m = mmap.mmap(fd, os.fstat(fd).st_size, prot=mmap.PROT_READ)
out = sys.stdout.buffer
for off in range(0, len(m), 4096):
    out.write(m[off:off + 4096])  # a page the mount cannot fill raises SIGBUS here
    out.flush()
"""


def read_mmap(path: Path, data: bytes) -> Outcome:
    """Pages of an mmap, in a child (a page that cannot be read kills it with SIGBUS)."""
    p = subprocess.run([sys.executable, "-c", MMAP_READER, str(path)], capture_output=True, timeout=120)
    o = Outcome()
    compare(o, 0, p.stdout, data)
    if p.returncode != 0:
        what = signal.Signals(-p.returncode).name if p.returncode < 0 else f"exit {p.returncode}"
        o.errors.append((len(p.stdout), what))
    return o


def random_offsets(f: Damaged, n: int = 48) -> list[int]:
    rnd = random.Random(hash(f.path) & 0xffff)
    size = len(f.data)
    offs = {rnd.randrange(0, size // PAGE) * PAGE for _ in range(n)}
    lo, hi = f.bad_range
    offs |= {rnd.randrange(lo // PAGE, hi // PAGE) * PAGE for _ in range(8)}
    offs.add((lo + 1001) // PAGE * PAGE)  # the page with the flipped byte
    return sorted(offs)


def expect(f: Damaged, method: str, o: Outcome, mode: str, log) -> None:
    where = f"{mode} {method} {f.path} ({f.how}, {f.chunk // MiB} MiB chunks, {f.replicas} replica(s))"
    STATS.add(o.compared)
    assert o.wrong == 0, f"{where}: {o.wrong} wrong bytes, first at {o.first_wrong}\n{log()}"
    if f.replicas == 2:
        assert not o.errors, f"{where}: errors {o.errors} although a good replica exists\n{log()}"
        return
    assert o.errors, f"{where}: the damaged chunk read without error ({o.compared} bytes)\n{log()}"
    lo, hi = f.bad_range
    for off, err in o.errors:
        assert err in ("EIO", "SIGBUS"), f"{where}: {err} at {off}, expected EIO\n{log()}"
    if method in ("odirect", "random4k"):
        size = MiB if method == "odirect" else PAGE
        for off, err in o.errors:  # only reads touching the damaged chunk fail
            assert off < hi and off + size > lo, f"{where}: {err} at {off}, outside [{lo},{hi})\n{log()}"


METHODS = ("buffered", "odirect", "mmap", "random4k")


@pytest.mark.parametrize("method", METHODS)
def test_damaged_needles_never_read_wrong(mount, files, method):
    for f in files:
        path = mount.p(f.path)
        drop_page_cache(path)
        if method == "buffered":
            o = read_buffered(path, f.data)
        elif method == "odirect":
            o = read_direct(path, f.data, range(0, len(f.data), MiB), MiB)
        elif method == "mmap":
            o = read_mmap(path, f.data)
        else:
            o = read_direct(path, f.data, random_offsets(f), PAGE)
        expect(f, method, o, mount.mode, lambda: mount.log(30))


def test_a_damaged_copy_was_asked_first(cl, files):
    """For half of the two-replica files the damaged copy is the one the mount asks first, so the
    exact reads above went through a refused copy and on to the good one."""
    first_damaged = [Path(f.path).name for f in files
                     if f.replicas == 2 and asked_order(cl, f.fid)[0] == volume_server_key(cl, f.server)]
    STATS.notes.append(f"integrity: damaged copy asked first for {first_damaged}")
    assert len(first_damaged) == 4, f"damaged copies asked first for {first_damaged}, expected 4 of 8"


def test_one_log_line_names_path_fid_and_replicas(mount, files):
    f = next(x for x in files if x.replicas == 1 and x.how == "flip" and x.chunk == MiB)
    path = mount.p(f.path)
    log_path = mount.log_dir / f"{mount.name}-{mount.path.name}.log"
    before = log_path.read_text(errors="replace").splitlines()
    lo, _ = f.bad_range
    o = read_direct(path, f.data, [lo + 2 * PAGE], PAGE)
    assert [e for _, e in o.errors] == ["EIO"], f"expected EIO, got {o.errors}"
    after = log_path.read_text(errors="replace").splitlines()
    new = [ln for ln in after[len(before):] if f.fid in ln]
    assert len(new) == 1, f"expected one log line naming {f.fid}, got {len(new)}:\n" + "\n".join(new)
    line = new[0]
    STATS.notes.append(f"integrity ({mount.mode}) log line: {line}")
    assert f.path in line, f"the line does not name the path {f.path}: {line}"
    vs = volume_server_key(mount.cluster, f.server)
    assert vs in line, f"the line does not name the replica {vs}: {line}"

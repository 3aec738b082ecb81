"""The data sets uploaded under /bench on the filer (and served by nullfs from memory). Only the
sets that the selected workloads name are uploaded."""

from __future__ import annotations

import contextlib
import http.client
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import harness as H

from .config import WALK_NEEDLE_SIZE, WALK_NEEDLES
from .system import log

ROOT = "/bench"


def name(i: int) -> str:
    """File names inside every data set directory: f000000, f000001, ..."""
    return f"f{i:06d}"


def chunk_list(g: H.FilerGrpc, path: str) -> list[dict]:
    """[{fid, offset, size}] of a file, by offset (for the targets that read chunks directly)."""
    e = g.lookup_path(path)
    return sorted(({"fid": ch.file_id, "offset": ch.offset, "size": ch.size} for ch in e.chunks),
                  key=lambda x: x["offset"])


class DataSet:
    """One set of files. name: what workloads list in `datasets`."""

    name = ""
    dirs: tuple[str, ...] = ()   # directories under ROOT

    def __init__(self, p: dict):
        self.p = p
        self.upload_seconds: dict[str, float] = {}

    def upload(self, c: H.Cluster) -> None:
        raise NotImplementedError

    def index(self, c: H.Cluster) -> None:
        """After all uploads: learn what the direct targets need (chunk lists, fids)."""

    def nullfs_sets(self) -> list[str]:
        """seaweed-nullfs --set specs (DIR:COUNT:SIZE) that mirror this set's shape."""
        return []


class LargeFiles(DataSet):
    """/bench/seq/f000000: seq_bytes of random bytes; /bench/par/f000000..3: 4 x seq_bytes/4.
    Uploaded with maxMB=chunk_mb (chunk_mb MiB chunks), 2 files at a time."""

    name = "large"
    dirs = ("seq", "par")

    def __init__(self, p: dict):
        super().__init__(p)
        self.seq_size = p["seq_bytes"]
        self.par_size = p["seq_bytes"] // 4
        self.seq_blob = H.RandomBlob(101, self.seq_size)
        self.par_blobs = [H.RandomBlob(200 + i, self.par_size) for i in range(4)]
        self.seq_chunks: list[dict] = []
        self.par_chunks: list[list[dict]] = []

    @property
    def seq_path(self) -> str:
        return f"seq/{name(0)}"

    def par_paths(self) -> list[str]:
        return [f"par/{name(i)}" for i in range(4)]

    def upload(self, c: H.Cluster) -> None:
        chunk_mb = self.p["chunk_mb"]
        t = time.monotonic()
        jobs = [(f"{ROOT}/{self.seq_path}", self.seq_blob)]
        jobs += [(f"{ROOT}/{p}", b) for p, b in zip(self.par_paths(), self.par_blobs)]
        with ThreadPoolExecutor(2) as ex:
            list(ex.map(lambda j: c.put(j[0], j[1], maxMB=chunk_mb), jobs))
        self.upload_seconds["large"] = time.monotonic() - t
        log(f"uploaded {self.seq_size + 4 * self.par_size} bytes in 5 large files "
            f"({chunk_mb} MiB chunks) in {self.upload_seconds['large']:.1f}s")

    def index(self, c: H.Cluster) -> None:
        self.seq_chunks = chunk_list(c.grpc, f"{ROOT}/{self.seq_path}")
        self.par_chunks = [chunk_list(c.grpc, f"{ROOT}/{p}") for p in self.par_paths()]

    def nullfs_sets(self) -> list[str]:
        return [f"seq:1:{self.seq_size}", f"par:4:{self.par_size}"]


class SmallFiles(DataSet):
    """/bench/small/: small_files files of small_size random bytes (filer PUT, 8 threads over
    keep-alive connections), one chunk each."""

    name = "small"
    dirs = ("small",)

    def __init__(self, p: dict):
        super().__init__(p)
        self.fids: list[str] = []   # the chunk of each file, by index

    def upload(self, c: H.Cluster) -> None:
        p = self.p
        t = time.monotonic()
        local = threading.local()
        host, port = c.host, c.filer_port

        def put_small(i: int) -> None:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = http.client.HTTPConnection(host, port, timeout=60)
            body = H.random_bytes(10_000 + i, p["small_size"])
            for attempt in range(3):
                try:
                    conn.request("PUT", f"{ROOT}/small/{name(i)}", body=body,
                                 headers={"Content-Type": "application/octet-stream"})
                    r = conn.getresponse()
                    r.read()
                    if r.status in (200, 201):
                        return
                    raise H.HarnessError(f"PUT small {i}: HTTP {r.status}")
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = local.conn = http.client.HTTPConnection(host, port, timeout=60)
                    if attempt == 2:
                        raise

        with ThreadPoolExecutor(8) as ex:
            list(ex.map(put_small, range(p["small_files"])))
        self.upload_seconds["small"] = time.monotonic() - t
        log(f"uploaded {p['small_files']} x {p['small_size']} B files in {self.upload_seconds['small']:.1f}s")

    def index(self, c: H.Cluster) -> None:
        entries = {e.name: e for e in c.grpc.list(f"{ROOT}/small")}
        self.fids = []
        for i in range(self.p["small_files"]):
            e = entries[name(i)]
            if len(e.chunks) != 1:
                raise H.HarnessError(f"small file {i}: expected 1 chunk, got {len(e.chunks)} "
                                     f"(inline content? {len(e.content)} bytes)")
            self.fids.append(e.chunks[0].file_id)

    def nullfs_sets(self) -> list[str]:
        return [f"small:{self.p['small_files']}:{self.p['small_size']}"]


class ListingDir(DataSet):
    """/bench/ls/: ls_entries entries with 64 bytes of inline content each (gRPC CreateEntry,
    8 threads on one channel)."""

    name = "ls"
    dirs = ("ls",)
    CONTENT = b"x" * 64

    def upload(self, c: H.Cluster) -> None:
        n = self.p["ls_entries"]
        t = time.monotonic()
        g = c.grpc
        now = int(time.time())

        def mk(i: int) -> None:
            e = g.pb.Entry(name=name(i), content=self.CONTENT,
                           attributes=g.attrs(0o644, size=len(self.CONTENT), mtime=now))
            g.create_entry(f"{ROOT}/ls", e, skip_parent=True)

        with ThreadPoolExecutor(8) as ex:
            list(ex.map(mk, range(n)))
        self.upload_seconds["ls"] = time.monotonic() - t
        log(f"created {n} entries (gRPC CreateEntry) in {self.upload_seconds['ls']:.1f}s")

    def nullfs_sets(self) -> list[str]:
        return [f"ls:{self.p['ls_entries']}:{len(self.CONTENT)}"]


def walk_dir(d: int) -> str:
    """Directory names of the walk tree: d000, d001, ..."""
    return f"d{d:03d}"


def create_walk_tree(c: H.Cluster, top: str, files: int, dirs: int, threads: int = 8) -> list[str]:
    """TOP/d000/f000000 ...: files // dirs entries in each of `dirs` directories, made with gRPC
    CreateEntry (no bytes uploaded per file, so 300,000 entries take minutes, not hours). Each
    entry has one WALK_NEEDLE_SIZE chunk pointing at one of WALK_NEEDLES real needles, so opening
    and reading a file goes through the mount's whole read path. Returns the needles' fids."""
    g = c.grpc
    fids = [c.upload_needle(H.random_bytes(900 + i, WALK_NEEDLE_SIZE)) for i in range(WALK_NEEDLES)]
    per_dir = files // dirs
    for d in range(dirs):
        g.mkdirs(f"{top}/{walk_dir(d)}")
    now = int(time.time())

    def make(d: int) -> None:
        parent = f"{top}/{walk_dir(d)}"
        for i in range(per_dir):
            chunk = g.chunk(fids[(d * per_dir + i) % WALK_NEEDLES], 0, WALK_NEEDLE_SIZE, now * 1_000_000_000 + i)
            e = g.pb.Entry(name=name(i), chunks=[chunk],
                           attributes=g.attrs(0o644, size=WALK_NEEDLE_SIZE, mtime=now))
            g.create_entry(parent, e, skip_parent=True)

    with ThreadPoolExecutor(threads) as ex:
        list(ex.map(make, range(dirs)))
    return fids


class WalkTree(DataSet):
    """/bench/walk/d000/f000000 ...: walk_files entries in walk_dirs directories, one 4 KiB chunk
    each over a few shared needles (create_walk_tree)."""

    name = "walk"
    dirs = ("walk",)

    def upload(self, c: H.Cluster) -> None:
        p = self.p
        t = time.monotonic()
        create_walk_tree(c, f"{ROOT}/walk", p["walk_files"], p["walk_dirs"])
        self.upload_seconds["walk"] = time.monotonic() - t
        n = p["walk_files"] // p["walk_dirs"] * p["walk_dirs"]
        log(f"created {n} entries in {p['walk_dirs']} dirs (gRPC CreateEntry, {WALK_NEEDLES} needles) "
            f"in {self.upload_seconds['walk']:.1f}s")


DATASETS = [LargeFiles, SmallFiles, ListingDir, WalkTree]  # upload order


class DataSets:
    """The data sets of one run: the ones the selected workloads need, by name."""

    def __init__(self, p: dict, needed: set[str]):
        unknown = needed - {d.name for d in DATASETS}
        if unknown:
            raise ValueError(f"unknown data sets {sorted(unknown)}")
        self.sets = {d.name: d(p) for d in DATASETS if d.name in needed}

    def __getattr__(self, attr: str):
        # data.large, data.small, ...: only the sets that are part of this run
        sets = self.__dict__.get("sets", {})
        if attr in sets:
            return sets[attr]
        raise AttributeError(f"data set {attr!r} is not part of this run")

    @property
    def upload_seconds(self) -> dict[str, float]:
        return {k: v for d in self.sets.values() for k, v in d.upload_seconds.items()}

    def nullfs_sets(self) -> list[str]:
        return [s for d in self.sets.values() for s in d.nullfs_sets()]

    def upload(self, c: H.Cluster) -> None:
        for d in self.sets.values():
            for sub in d.dirs:
                c.grpc.mkdirs(f"{ROOT}/{sub}")
        for d in self.sets.values():
            d.upload(c)
        for d in self.sets.values():
            d.index(c)
        # no gRPC threads while the benchmark forks processes (see harness/env.py on fork support)
        with contextlib.suppress(Exception):
            c._grpc.close()
        c._grpc = None
        log("data sets ready: " + ", ".join(self.sets))

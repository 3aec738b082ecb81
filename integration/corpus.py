"""The test corpus: what gets uploaded to the filer and what every file must read back as.

Everything is derived from fixed seeds, so a failure names a reproducible file/offset."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from harness import (MiB, Blob, BytesBlob, Cluster, Expected, RandomBlob, random_bytes,
                     text_bytes)

ROOT = "/corpus"
HUGE_MB = int(os.environ.get("INTEG_HUGE_MB", "256"))  # the >=256 MiB file; lower it for quick runs
BIGDIR_ENTRIES = 5000
INLINE_LIMIT = 64  # the corpus cluster's -filer.saveToFilerLimit
CLUSTER_ARGS = dict(filer_args=[f"-filer.saveToFilerLimit={INLINE_LIMIT}"])


@dataclass
class CFile:
    path: str                 # filer path
    blob: Blob                # expected content
    mode: int = 0o660         # expected permission bits
    kind: str = "plain"       # plain|chunked|overlap|hole|append|inline|text|inline-grpc|...
    compressed: bool = False  # expect at least one is_compressed chunk
    inline: bool = False      # expect Entry.content to be used


@dataclass
class Corpus:
    root: str
    files: dict[str, CFile] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)   # path -> target
    dirs: set[str] = field(default_factory=set)
    bigdir: str = ""
    bigdir_names: set[str] = field(default_factory=set)
    xattrs: dict[str, dict[str, bytes]] = field(default_factory=dict)  # path -> {name: value}
    saveinside: dict[str, bytes] = field(default_factory=dict)  # path -> bytes in Entry.content
    upload_seconds: float = 0.0

    def add(self, f: CFile) -> CFile:
        self.files[f.path] = f
        return f

    @property
    def total_bytes(self) -> int:
        return sum(f.blob.size for f in self.files.values())


def build_corpus(c: Cluster, root: str = ROOT) -> Corpus:
    t0 = time.monotonic()
    cp = Corpus(root)
    g = c.grpc

    def put(rel: str, blob, kind="plain", mode=0o660, compressed=False, inline=False, **q):
        path = f"{root}/{rel}"
        blob = blob if isinstance(blob, Blob) else BytesBlob(blob)
        c.put(path, blob, **q)
        return cp.add(CFile(path, blob, mode, kind, compressed, inline))

    # --- sizes around page / chunk boundaries
    # a 1-byte file backed by a needle (uploads this small are stored inline by this cluster)
    fid = c.upload_needle(b"Z")
    g.create_file(f"{root}/sizes/s1-needle", [g.chunk(fid, 0, 1, time.time_ns())])
    cp.add(CFile(f"{root}/sizes/s1-needle", BytesBlob(b"Z")))
    for i, n in enumerate((0, 1, 4095, 4096, 4097, 65535, 65536, 65537, 131073)):
        put(f"sizes/s{n}", random_bytes(1000 + i, n))
    for i, n in enumerate((MiB - 1, MiB, MiB + 1, 2 * MiB - 1, 2 * MiB, 2 * MiB + 1)):
        put(f"chunk/c{n}", RandomBlob(2000 + i, n), kind="chunked" if n > MiB else "plain", maxMB=1)
    put("multi/m5", RandomBlob(3000, 5 * MiB + 12345), kind="chunked", maxMB=1)
    put("multi/m9-maxmb2", RandomBlob(3001, 9 * MiB + 7), kind="chunked", maxMB=2)
    put("big/b40", RandomBlob(4000, 40 * MiB + 4321), kind="chunked")  # filer default maxMB (4)
    put(f"big/b{HUGE_MB}", RandomBlob(4001, HUGE_MB * MiB + 12345), kind="huge", maxMB=4)

    # --- overlapping writes via ?offset= (newer chunk wins), modelled in memory
    e = Expected(random_bytes(5000, 3 * MiB + 100))
    path = f"{root}/overlap/o1"
    c.put(path, e.buf, maxMB=1)
    for off, n, seed in ((500000, MiB + MiB // 2, 5001), (2000000, 10, 5002), (MiB - 6, 12, 5003),
                         (3 * MiB + 50, 1000, 5004), (1, 1, 5005), (777777, 300000, 5006)):
        w = random_bytes(seed, n)
        c.put(path, w, offset=off, maxMB=1)
        e.write(off, w)
    cp.add(CFile(path, e.blob(), kind="overlap"))

    e = Expected(random_bytes(5100, 10000))
    path = f"{root}/overlap/o2-many-small"
    c.put(path, e.buf)
    rng_writes = [(int.from_bytes(random_bytes(5200 + i, 2), "big") % 11000 + 1, 1 + i * 37 % 900, 5300 + i)
                  for i in range(20)]
    for off, n, seed in rng_writes:
        w = random_bytes(seed, n)
        c.put(path, w, offset=off)
        e.write(off, w)
    cp.add(CFile(path, e.blob(), kind="overlap"))

    # --- holes: ?offset= past EOF leaves zeros
    e = Expected(random_bytes(6000, 100000))
    path = f"{root}/hole/h1"
    c.put(path, e.buf)
    for off, n, seed in ((5 * MiB, 4096, 6001), (9 * MiB + 3, 1, 6002)):
        w = random_bytes(seed, n)
        c.put(path, w, offset=off)
        e.write(off, w)
    cp.add(CFile(path, e.blob(), kind="hole"))

    e = Expected(random_bytes(6099, 4096))
    path = f"{root}/hole/h2-section"  # a hole across the 64 MiB section boundary
    c.put(path, e.buf)
    w = random_bytes(6100, 100000)
    c.put(path, w, offset=64 * MiB + 5)
    e.write(64 * MiB + 5, w)
    cp.add(CFile(path, e.blob(), kind="hole"))

    # --- op=append
    e = Expected(random_bytes(7000, 300000))
    path = f"{root}/append/a1"
    c.put(path, e.buf)
    for i, n in enumerate((1, 5000, MiB + 3)):
        w = random_bytes(7001 + i, n)
        c.put(path, w, op="append", maxMB=1)
        e.append(w)
    cp.add(CFile(path, e.blob(), kind="append"))

    # --- inline content
    # The corpus cluster runs with -filer.saveToFilerLimit=INLINE_LIMIT: smaller uploads are
    # stored in Entry.content (with attributes.file_size set).
    put("inline/small.txt", b"inline text content\n" * 2, kind="inline", inline=True,
        content_type="text/plain")
    put("inline/small.bin", random_bytes(8002, INLINE_LIMIT - 1), kind="inline", inline=True)
    # ?saveInside=true (multipart POST only) stores Entry.content but, in SeaweedFS 4.48, leaves
    # attributes.file_size at 0 -- the filer's own GET then serves 0 bytes. The filer is the ground
    # truth, so such a file must read as empty (and stat 0) through the mount as well.
    for name, data in (("saveinside.txt", b"inline text content\n" * 10),
                       ("saveinside.bin", random_bytes(8000, 3000))):
        path = f"{root}/inline/{name}"
        c.put(path, data, saveInside=True)
        truth = c.get(path)
        cp.add(CFile(path, BytesBlob(truth), kind="saveinside"))
        cp.saveinside[path] = data
    # inline content written directly through gRPC CreateEntry (Entry.content)
    data = random_bytes(8001, 777)
    g.create_file(f"{root}/inline/grpc.bin", content=data)
    cp.add(CFile(f"{root}/inline/grpc.bin", BytesBlob(data), kind="inline-grpc", inline=True))

    # --- compressible text (filer gzips), single and multi chunk
    put("text/t1.txt", text_bytes(9000, 3 * MiB + 17), kind="text", compressed=True, maxMB=1)
    put("text/t2.txt", text_bytes(9001, 20000), kind="text", compressed=True, content_type="text/plain")
    put("text/t3.json", b'{"k": [' + b", ".join(b'"value %d"' % i for i in range(5000)) + b"]}",
        kind="text", content_type="application/json")
    put("text/t4-multipart.txt", text_bytes(9002, 2 * MiB + 5), kind="text", compressed=True,
        multipart=True, content_type="text/plain", maxMB=1)

    # --- modes
    for m in (0o644, 0o755, 0o600, 0o444, 0o640):
        path = f"{root}/modes/m{m:o}"
        blob = BytesBlob(random_bytes(10000 + m, 100 + m))
        c.put(path, blob, mode=m)
        cp.add(CFile(path, blob, mode=m, kind="mode"))

    # --- names
    names = ["日本語のファイル.txt", "emoji-😀-🚀.bin", "ümlaut äöü ß", "with space", "tab\tname",
             "quote'\"", "semi;colon&amp", "percent%41", "plus+sign", "#hash", "?question",
             "n" * 255, "日" * 85, "é" * 127 + "x"]
    for i, n in enumerate(names):
        assert len(n.encode()) <= 255, n
        put(f"names/{n}", random_bytes(11000 + i, 100 + i), kind="name")

    # --- deep path
    put("deep/a/b/c/d/e/f/g/h/i/j/leaf.bin", random_bytes(12000, 4097))

    # --- symlinks (filer HTTP cannot make them; gRPC CreateEntry with ModeSymlink|0777)
    for rel, target in (("links/rel-file", "../sizes/s4096"), ("links/rel-dir", "../chunk"),
                        ("links/abs", "/corpus/sizes/s1"), ("links/dangling", "no/such/target"),
                        ("links/unicode-ziel", "日本語/ファイル"), ("links/long", "x/" * 500 + "end"),
                        ("links/dot", ".")):
        c.symlink(f"{root}/{rel}", target)
        cp.symlinks[f"{root}/{rel}"] = target

    # --- xattrs (stored in Entry.extended as "xattr-<name>")
    xpath = f"{root}/xattr/with-attrs"
    xv = {"user.color": b"blue", "user.bin": bytes(range(0, 256, 7))}
    g.create_file(xpath, content=b"has xattrs\n",
                  extended={"xattr-" + k: v for k, v in xv.items()})
    cp.add(CFile(xpath, BytesBlob(b"has xattrs\n"), kind="xattr", inline=True))
    cp.xattrs[xpath] = xv

    # --- a directory with many entries (created through gRPC: 5000 HTTP uploads take too long)
    big = f"{root}/many"
    c.mkdir(big)
    cp.bigdir = big

    def mk(i: int):
        if i % 100 == 0:
            name = f"dir-{i:05d}"
            g.mkdir(f"{big}/{name}", 0o755)
        else:
            name = f"file-{i:05d}-{'x' * (i % 40)}"
            g.create_file(f"{big}/{name}", content=random_bytes(20000 + i, i % 97))
        return name

    with ThreadPoolExecutor(4) as ex:
        cp.bigdir_names = set(ex.map(mk, range(BIGDIR_ENTRIES)))
    # a few real uploads in it as well
    for i in range(5):
        name = f"uploaded-{i}"
        put(f"many/{name}", random_bytes(21000 + i, 1000 * i))
        cp.bigdir_names.add(name)
    for i in range(BIGDIR_ENTRIES):
        if i % 100 and i % 500 == 1:  # a sample of the inline ones is also content-checked
            p = f"{big}/file-{i:05d}-{'x' * (i % 40)}"
            cp.add(CFile(p, BytesBlob(random_bytes(20000 + i, i % 97)), kind="inline-grpc", inline=True))

    # directories that must exist
    for p in list(cp.files) + list(cp.symlinks):
        d = p.rsplit("/", 1)[0]
        while d and d != root:
            cp.dirs.add(d)
            d = d.rsplit("/", 1)[0]
    cp.upload_seconds = time.monotonic() - t0
    return cp

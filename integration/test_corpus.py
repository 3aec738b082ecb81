"""Reads the corpus (corpus.py) through a read-only mount and compares with what was uploaded."""

from __future__ import annotations

import errno
import mmap
import os
import stat
import threading

import pytest

from harness import (MODE_DIR, MODE_PERM, MODE_SYMLINK, STATS, MiB, compare_stream, errno_name,
                     format_mismatches, read_file_blocks, verify_preads, verify_sequential)


def on_mount(m, path):
    return m.path / path.lstrip("/")


def core_files(corpus):
    """All corpus files except the ?saveInside=true quirk (checked on its own at the end)."""
    return [f for f in corpus.files.values() if f.kind != "saveinside"]


def items(m, files):
    return [(on_mount(m, f.path), f.path, f.blob) for f in files]


def chunk_boundaries(cluster):
    def b(path, size):
        try:
            cs = cluster.chunks_of(path, resolve_manifest=True)
        except Exception:  # noqa: BLE001
            return list(range(MiB, size, MiB))
        return sorted({c.get("offset", 0) for c in cs} | {c.get("offset", 0) + c["size"] for c in cs})
    return b


# ---------------------------------------------------------------------------------------------
# harness self-check: the filer's own read is the ground truth for the expected bytes
# ---------------------------------------------------------------------------------------------

def test_filer_ground_truth(cluster, corpus):
    bad = []
    nbytes = 0
    for f in corpus.files.values():
        n, mm = compare_stream(f.path, cluster.get_stream(f.path), f.blob)
        nbytes += n
        if mm:
            bad.append(mm)
        md = cluster.metadata(f.path)
        if md.get("FileSize") != f.blob.size and not f.inline:
            bad.append(f"{f.path}: filer FileSize {md.get('FileSize')} != expected {f.blob.size}")
        if md["Mode"] & MODE_PERM != f.mode:
            bad.append(f"{f.path}: filer mode {md['Mode'] & MODE_PERM:o} != expected {f.mode:o}")
        chunks = md.get("chunks") or []
        if f.compressed and not any(c.get("is_compressed") for c in chunks):
            bad.append(f"{f.path}: expected an is_compressed chunk, got {chunks}")
        if f.inline and not md.get("Content") and f.blob.size:
            bad.append(f"{f.path}: expected inline Content")
        if f.inline and chunks:
            bad.append(f"{f.path}: expected no chunks for an inline file, got {len(chunks)}")
        if f.kind in ("chunked", "huge") and len(chunks) < 2:
            bad.append(f"{f.path}: expected several chunks, got {len(chunks)}")
        if f.kind == "overlap":
            spans = sorted((c.get("offset", 0), c.get("offset", 0) + c["size"]) for c in chunks)
            if not any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
                bad.append(f"{f.path}: expected overlapping chunks, got {spans}")
    for p, data in corpus.saveinside.items():
        md = cluster.metadata(p)
        if not md.get("Content") or md.get("FileSize") != corpus.files[p].blob.size:
            bad.append(f"{p}: saveInside entry: Content {bool(md.get('Content'))} FileSize {md.get('FileSize')}")
    for p, target in corpus.symlinks.items():
        md = cluster.metadata(p)
        if md.get("SymlinkTarget") != target or not md["Mode"] & MODE_SYMLINK:
            bad.append(f"{p}: symlink metadata {md.get('SymlinkTarget')!r} mode {md['Mode']:o}")
    STATS.notes.append(f"filer ground truth: {len(corpus.files)} files / {nbytes} bytes via filer GET")
    assert not bad, "\n".join(map(str, bad))


# ---------------------------------------------------------------------------------------------
# the mount
# ---------------------------------------------------------------------------------------------

def test_mounted(ro_mount):
    mp = str(ro_mount.path)
    from harness import mounted_points
    assert mounted_points().get(mp, "").startswith("fuse"), mounted_points().get(mp)
    st = os.stat(mp)
    assert stat.S_ISDIR(st.st_mode)


def test_sequential_read_all(cluster, corpus, ro_mount):
    """Every corpus file read front to back (1 MiB reads) equals the uploaded bytes."""
    files = sorted(core_files(corpus), key=lambda f: f.blob.size)
    before = STATS.bytes
    bad = verify_sequential(items(ro_mount, files), cluster)
    STATS.notes.append(f"sequential: {len(files)} files / {STATS.bytes - before} bytes through the mount")
    assert not bad, format_mismatches(bad)


def test_sequential_small_reads(cluster, corpus, ro_mount):
    """Odd-sized reads (4097 bytes) on the chunked / overlap / hole files."""
    files = [f for f in corpus.files.values()
             if f.kind in ("chunked", "overlap", "hole", "append", "text") and f.blob.size < 70 * MiB]
    bad = verify_sequential(items(ro_mount, files), cluster, block=4097)
    assert not bad, format_mismatches(bad)


def test_random_preads(cluster, corpus, ro_mount):
    files = [f for f in core_files(corpus) if f.blob.size > 0]
    bad = verify_preads(items(ro_mount, files), seed=42, count=25, cluster=cluster,
                        boundaries=chunk_boundaries(cluster))
    assert not bad, format_mismatches(bad)


def test_concurrent_readers(cluster, corpus, ro_mount):
    """4 threads read different files (and the same big file) at once."""
    files = sorted((f for f in corpus.files.values() if f.kind in ("chunked", "overlap", "text")),
                   key=lambda f: -f.blob.size)[:6]
    big = corpus.files[f"{corpus.root}/big/b40"]
    work = [big, big] + files
    results = []
    lock = threading.Lock()

    def reader(f):
        try:
            n, mm = compare_stream(f.path, read_file_blocks(on_mount(ro_mount, f.path), 128 * 1024), f.blob)
        except OSError as e:
            n, mm = 0, f"{f.path}: {errno_name(e.errno)}"
        with lock:
            results.append((f.path, n, mm))

    threads = [threading.Thread(target=reader, args=(f,)) for f in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert len(results) == len(work), "reader threads hung"
    bad = [str(mm) for _, _, mm in results if mm]
    STATS.add(sum(n for _, n, _ in results), files=len(results))
    assert not bad, "\n".join(bad)


def test_mmap_read(corpus, ro_mount):
    for rel in ("chunk/c1048577", "overlap/o1", "text/t1.txt", "sizes/s4097"):
        f = corpus.files[f"{corpus.root}/{rel}"]
        with open(on_mount(ro_mount, f.path), "rb") as fh:
            with mmap.mmap(fh.fileno(), 0, prot=mmap.PROT_READ) as mm:
                assert mm[:] == f.blob.bytes(), f"mmap read of {f.path} differs"
        STATS.add(f.blob.size)


def _filer_tree(cluster, root):
    """path -> filer entry (HTTP listing JSON), recursively."""
    out = {}
    todo = [root]
    while todo:
        d = todo.pop()
        for e in cluster.list(d):
            out[e["FullPath"]] = e
            if e["Mode"] & MODE_DIR:
                todo.append(e["FullPath"])
    return out


def _expected_type(mode):
    if mode & MODE_DIR:
        return stat.S_IFDIR
    if mode & MODE_SYMLINK:
        return stat.S_IFLNK
    return stat.S_IFREG


def test_tree_matches_filer_listing(cluster, corpus, ro_mount):
    """Names, types, sizes and permission bits of the whole corpus tree equal the filer's listing."""
    tree = _filer_tree(cluster, corpus.root)
    bad = []
    seen = set()
    for dirpath, dirnames, filenames in os.walk(on_mount(ro_mount, corpus.root)):
        rel = "/" + os.path.relpath(dirpath, ro_mount.path)
        for n in dirnames + filenames:
            seen.add(f"{rel}/{n}")
    missing = set(tree) - seen
    extra = seen - set(tree)
    assert not missing and not extra, (f"missing on mount: {sorted(missing)[:20]}; "
                                       f"not on filer: {sorted(extra)[:20]}")
    for p, e in tree.items():
        st = os.lstat(on_mount(ro_mount, p))
        if stat.S_IFMT(st.st_mode) != _expected_type(e["Mode"]):
            bad.append(f"{p}: type {stat.S_IFMT(st.st_mode):o} expected {_expected_type(e['Mode']):o}")
        if stat.S_IMODE(st.st_mode) != e["Mode"] & 0o777:
            bad.append(f"{p}: mode {stat.S_IMODE(st.st_mode):o} expected {e['Mode'] & 0o777:o}")
        if stat.S_ISREG(st.st_mode) and st.st_size != e["FileSize"] and p not in corpus.saveinside:
            bad.append(f"{p}: size {st.st_size} expected {e['FileSize']}")
    STATS.notes.append(f"tree: {len(tree)} entries compared with the filer listing")
    assert not bad, "\n".join(bad[:30])


def test_stat_sizes_types_modes(cluster, corpus, ro_mount):
    bad = []
    for f in core_files(corpus):
        st = os.stat(on_mount(ro_mount, f.path))
        if not stat.S_ISREG(st.st_mode):
            bad.append(f"{f.path}: not S_ISREG ({st.st_mode:o})")
        if st.st_size != f.blob.size:
            bad.append(f"{f.path}: st_size {st.st_size} expected {f.blob.size}")
        if stat.S_IMODE(st.st_mode) != f.mode:
            bad.append(f"{f.path}: mode {stat.S_IMODE(st.st_mode):o} expected {f.mode:o}")
    for d in corpus.dirs:
        st = os.stat(on_mount(ro_mount, d))
        if not stat.S_ISDIR(st.st_mode):
            bad.append(f"{d}: not S_ISDIR ({st.st_mode:o})")
    for p in corpus.symlinks:
        st = os.lstat(on_mount(ro_mount, p))
        if not stat.S_ISLNK(st.st_mode):
            bad.append(f"{p}: not S_ISLNK ({st.st_mode:o})")
    default = [f for f in corpus.files.values() if f.kind == "plain"]
    assert default and all(f.mode == 0o660 for f in default)
    assert not bad, "\n".join(bad[:30])


def test_symlinks(corpus, ro_mount):
    bad = []
    for p, target in corpus.symlinks.items():
        got = os.readlink(on_mount(ro_mount, p))
        if got != target:
            bad.append(f"{p}: readlink {got!r} expected {target!r}")
        st = os.lstat(on_mount(ro_mount, p))
        if st.st_size != len(target.encode()):
            bad.append(f"{p}: lstat size {st.st_size} expected {len(target.encode())}")
    # following links works through the mount
    f = corpus.files[f"{corpus.root}/sizes/s4096"]
    with open(on_mount(ro_mount, f"{corpus.root}/links/rel-file"), "rb") as fh:
        if fh.read() != f.blob.bytes():
            bad.append("links/rel-file: content through the link differs")
    if sorted(os.listdir(on_mount(ro_mount, f"{corpus.root}/links/rel-dir"))) != \
            sorted(os.listdir(on_mount(ro_mount, f"{corpus.root}/chunk"))):
        bad.append("links/rel-dir: listing through the link differs")
    with pytest.raises(FileNotFoundError):
        open(on_mount(ro_mount, f"{corpus.root}/links/dangling"), "rb")
    assert not bad, "\n".join(bad)


def test_unicode_and_long_names(corpus, ro_mount):
    d = f"{corpus.root}/names"
    expected = {p.rsplit("/", 1)[1] for p in corpus.files if p.startswith(d + "/")}
    got = set(os.listdir(on_mount(ro_mount, d)))
    assert got == expected, f"missing {expected - got}, extra {got - expected}"
    assert any(len(n.encode()) == 255 for n in got)
    for p in corpus.files:
        if p.startswith(d + "/"):
            with open(on_mount(ro_mount, p), "rb") as fh:
                assert fh.read() == corpus.files[p].blob.bytes(), p
    # one byte longer than NAME_MAX: the kernel refuses before asking the mount
    with pytest.raises(OSError) as ei:
        os.stat(on_mount(ro_mount, d + "/" + "n" * 256))
    assert ei.value.errno == errno.ENAMETOOLONG


def test_large_directory(cluster, corpus, ro_mount):
    d = corpus.bigdir
    filer = {e["FullPath"].rsplit("/", 1)[1]: e for e in cluster.list(d, limit=1000)}
    assert set(filer) == corpus.bigdir_names, "filer listing differs from what was created"
    names = os.listdir(on_mount(ro_mount, d))
    assert len(names) == len(set(names)), "duplicate names in readdir"
    got = set(names)
    assert got == set(filer), (f"{len(got)} names on mount vs {len(filer)} in filer; missing "
                               f"{sorted(set(filer) - got)[:10]}, extra {sorted(got - set(filer))[:10]}")
    bad = []
    with os.scandir(on_mount(ro_mount, d)) as it:
        for de in it:
            e = filer[de.name]
            st = de.stat(follow_symlinks=False)
            if bool(e["Mode"] & MODE_DIR) != stat.S_ISDIR(st.st_mode):
                bad.append(f"{de.name}: type mismatch")
            elif not e["Mode"] & MODE_DIR and st.st_size != e["FileSize"]:
                bad.append(f"{de.name}: size {st.st_size} expected {e['FileSize']}")
    STATS.notes.append(f"large directory: {len(names)} entries compared (names, types, sizes)")
    assert not bad, "\n".join(bad[:30])


def test_xattr(corpus, ro_mount):
    f = on_mount(ro_mount, f"{corpus.root}/sizes/s4096")
    names = os.listxattr(f)  # must not fail
    assert all(isinstance(n, str) for n in names)
    os.listxattr(on_mount(ro_mount, corpus.root))
    with pytest.raises(OSError) as ei:
        os.getxattr(f, "user.does-not-exist")
    assert ei.value.errno == errno.ENODATA, f"getxattr missing: {errno_name(ei.value.errno)}"


def test_xattr_values(corpus, ro_mount):
    """xattrs stored by the filer in Entry.extended ("xattr-<name>") are visible."""
    for p, attrs in corpus.xattrs.items():
        mp = on_mount(ro_mount, p)
        assert set(attrs) <= set(os.listxattr(mp)), os.listxattr(mp)
        for k, v in attrs.items():
            assert os.getxattr(mp, k) == v, k


def test_readonly_rejects_writes(cluster, corpus, ro_mount):
    root = on_mount(ro_mount, corpus.root)
    existing = root / "sizes" / "s4096"
    ops = {
        "create": lambda: os.open(root / "new-file", os.O_CREAT | os.O_WRONLY, 0o644),
        "open-wronly": lambda: os.open(existing, os.O_WRONLY),
        "open-trunc": lambda: os.open(existing, os.O_RDWR | os.O_TRUNC),
        "unlink": lambda: os.unlink(existing),
        "mkdir": lambda: os.mkdir(root / "new-dir"),
        "rmdir": lambda: os.rmdir(root / "many" / "dir-00000"),
        "rename": lambda: os.rename(existing, root / "renamed"),
        "symlink": lambda: os.symlink("x", root / "new-link"),
        "link": lambda: os.link(existing, root / "new-hardlink"),
        "chmod": lambda: os.chmod(existing, 0o600),
        "truncate": lambda: os.truncate(existing, 1),
        "utime": lambda: os.utime(existing, (1, 1)),
        "setxattr": lambda: os.setxattr(existing, "user.x", b"1"),
    }
    bad = []
    for name, op in ops.items():
        try:
            r = op()
            if isinstance(r, int):
                os.close(r)
            bad.append(f"{name}: succeeded on a -readOnly mount")
        except OSError as e:
            if e.errno != errno.EROFS:
                bad.append(f"{name}: errno {errno_name(e.errno)}, expected EROFS")
    assert not bad, "\n".join(bad)
    # nothing changed on the filer
    assert cluster.get(f"{corpus.root}/sizes/s4096") == corpus.files[f"{corpus.root}/sizes/s4096"].blob.bytes()
    assert cluster.grpc.lookup(corpus.root, "new-file") is None
    assert cluster.grpc.lookup(corpus.root, "new-dir") is None


def test_filer_path_submount(cluster, corpus, mount_factory):
    """-filer.path=/corpus/chunk mounts that directory as the root."""
    sub = f"{corpus.root}/chunk"
    m = mount_factory(["-readOnly", f"-filer.path={sub}"])
    expected = {p.rsplit("/", 1)[1]: f for p, f in corpus.files.items() if p.startswith(sub + "/")}
    assert set(os.listdir(m.path)) == set(expected)
    bad = verify_sequential([(m.path / n, f.path, f.blob) for n, f in expected.items()], cluster)
    assert not bad, format_mismatches(bad)


def test_default_rw_mount_reads(cluster, corpus, mount_factory):
    """A mount without -readOnly reads the same bytes (no write is attempted)."""
    m = mount_factory([])
    files = [f for f in corpus.files.values() if f.kind in ("overlap", "hole", "inline", "text")]
    bad = verify_sequential(items(m, files), cluster)
    assert not bad, format_mismatches(bad)


def test_mtime_and_blocks(cluster, corpus, ro_mount):
    """st_mtime equals the filer's attributes.mtime; st_blocks is non-zero for non-empty files."""
    bad = []
    for f in core_files(corpus):
        st = os.stat(on_mount(ro_mount, f.path))
        e = cluster.grpc.lookup_path(f.path)
        if e is not None and e.attributes.mtime and int(st.st_mtime) != e.attributes.mtime:
            bad.append(f"{f.path}: st_mtime {int(st.st_mtime)} expected {e.attributes.mtime}")
        if st.st_size > 0 and st.st_blocks == 0:
            bad.append(f"{f.path}: st_blocks 0 for {st.st_size} bytes (du would show 0)")
    assert not bad, "\n".join(bad[:30])


def test_saveinside_entry_matches_filer(cluster, corpus, ro_mount):
    """?saveInside=true entries carry Entry.content but attributes.file_size 0 (SeaweedFS 4.48).
    The filer's GET serves 0 bytes for them (upstream FileSize() ignores content), so the mount
    must agree: st_size 0 and an empty read."""
    assert corpus.saveinside
    bad = []
    for p, content in corpus.saveinside.items():
        truth = cluster.get(p)
        st = os.stat(on_mount(ro_mount, p))
        with open(on_mount(ro_mount, p), "rb") as fh:
            got = fh.read()
        if st.st_size != len(truth) or got != truth:
            bad.append(f"{p}: filer GET serves {len(truth)} bytes (file_size 0, {len(content)} bytes "
                       f"in Entry.content); mount: st_size {st.st_size}, read {len(got)} bytes")
    assert not bad, "\n".join(bad)

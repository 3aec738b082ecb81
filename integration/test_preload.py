"""libseaweed-rdma-preload.so end to end: programs started with LD_PRELOAD read the corpus of a
real cluster straight from the agent (UCX) and must get exactly the bytes FUSE would give, with
the preload's own counters (SEAWEED_RDMA_PRELOAD_STATS) showing who served them. Then the cases
where the kernel's semantics must hold: dup'ed fds, threads sharing an fd, fork, exec, other file
systems, mmap, a file changed during a read, the agent killed during a read; an encrypted cluster.
The cases run in integration/preload_cases.py under the preload."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness import (MOUNT_BIN, STATS, Cluster, MiB, RandomBlob, random_bytes, text_bytes)
from test_rdma import Agent, RdmaMount, core_files, large_files, volume_server_key, wait_until

HERE = Path(__file__).resolve().parent
PRELOAD = os.environ.get("SEAWEED_PRELOAD_LIB") or str(
    Path(MOUNT_BIN).resolve().parent.parent / "lib" / "libseaweed-rdma-preload.so")
CASES = HERE / "preload_cases.py"
_LINE = re.compile(r"seaweed-rdma-preload\[(\d+)\]: seaweed-rdma: (.*)")


class PreloadStats:
    """The sum of the exit lines of every preloaded process that wrote to one stats file."""

    def __init__(self, path: Path):
        self.path = path
        self.lines: list[dict] = []
        if path.exists():
            for line in path.read_text().splitlines():
                m = _LINE.match(line)
                if m:
                    self.lines.append({k: int(v) for k, v in (kv.split("=") for kv in m.group(2).split())})

    def __getitem__(self, key: str) -> int:
        return sum(d.get(key, 0) for d in self.lines)

    def __str__(self):
        keys = ("opens_served", "opens_declined", "declined_inline", "declined_tokens", "declined_snapshot",
                "declined_other", "reads_served", "reads_fallback", "bytes_served", "bytes_fallback",
                "bytes_rdma", "bytes_http")
        return f"{len(self.lines)} processes: " + " ".join(f"{k}={self[k]}" for k in keys)


def preloaded_env(stats: Path, extra: dict | None = None) -> dict:
    env = dict(os.environ, LD_PRELOAD=PRELOAD, SEAWEED_RDMA_PRELOAD_STATS=str(stats))
    env.update(extra or {})
    return env


def run_preloaded(argv, stats: Path, check=True, input=None, timeout=600, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(argv, env=preloaded_env(stats), capture_output=True, input=input, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{argv} exited {r.returncode} under the preload:\n{r.stderr.decode()[-3000:]}")
    return r


def run_case(case: str, arg: str, stats: Path) -> dict:
    r = run_preloaded([sys.executable, str(CASES), case, arg], stats)
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


@pytest.fixture(scope="module")
def agent(cluster, corpus):
    a = Agent(cluster, name="agent-preload")
    a.start()
    yield a
    a.stop()


@pytest.fixture(scope="module")
def mnt(cluster, corpus, agent):
    with RdmaMount(cluster, {volume_server_key(cluster): agent.address}, name="preload-mount") as m:
        yield m


@pytest.fixture
def stats(tmp_path) -> Path:
    return tmp_path / "preload-stats.txt"


def test_library_is_built():
    assert Path(PRELOAD).is_file(), f"{PRELOAD} missing (build the seaweed-rdma-preload target)"
    deps = subprocess.run(["ldd", PRELOAD], capture_output=True, text=True).stdout
    assert "libseaweed-rdma-read.so" in deps and "not found" not in deps, deps
    assert "grpc" not in deps, f"gRPC must not be loaded into applications:\n{deps}"


def test_corpus_sha256sum_byte_exact(cluster, corpus, mnt, stats):
    """sha256sum of every corpus file (all chunk kinds, holes, overlaps, inline, gzip) under the preload."""
    files = core_files(corpus)
    r = run_preloaded(["sha256sum", "--", *(mnt.p(f.path) for f in files)], stats)
    got = {}
    for line in r.stdout.decode("utf-8", "surrogateescape").splitlines():
        digest, name = line.split("  ", 1)
        got[name] = digest
    bad = [f.path for f in files if got.get(str(mnt.p(f.path))) != f.blob.sha256()]
    assert not bad, f"sha256sum under the preload differs for {bad[:20]}"
    st = PreloadStats(stats)
    STATS.notes.append(f"preload [sha256sum corpus]: {st}")
    assert st["reads_fallback"] == 0, st
    # sha256sum reads with fopen/fread: served through the preload's stdio streams
    large = [f for f in files if f.blob.size >= MiB]
    assert st["bytes_served"] >= sum(f.blob.size for f in large), st
    # readahead and whole-chunk decoding fetch a little more than they hand out, never much more
    assert st["bytes_rdma"] + st["bytes_http"] <= 1.5 * st["bytes_served"], f"read amplification: {st}"


@pytest.mark.parametrize("tool", ["cat", "cp", "dd", "dd-direct", "python", "python-whole"])
def test_large_files_served_by_the_preload(corpus, mnt, stats, tmp_path, tool):
    """The large files through common readers: byte-exact, and the preload (not FUSE) served them."""
    large = large_files(corpus)
    total = sum(f.blob.size for f in large)
    for f in large:
        src = str(mnt.p(f.path))
        out = tmp_path / "out"
        if tool == "cat":
            with open(out, "wb") as o:
                r = subprocess.run(["cat", src], env=preloaded_env(stats), stdout=o, stderr=subprocess.PIPE)
                assert r.returncode == 0, r.stderr.decode()
        elif tool == "cp":
            run_preloaded(["cp", src, str(out)], stats)
        elif tool == "dd":
            run_preloaded(["dd", f"if={src}", f"of={out}", "bs=1M", "status=none"], stats)
        elif tool == "dd-direct":
            run_preloaded(["dd", f"if={src}", f"of={out}", "bs=1M", "iflag=direct", "status=none"], stats)
        else:
            got = run_case("whole" if tool == "python-whole" else "sha", src, stats)["sha"]
            assert got == f.blob.sha256(), f"{tool}: {f.path}"
            continue
        digest = hashlib.sha256(out.read_bytes()).hexdigest()
        assert digest == f.blob.sha256(), f"{tool}: {f.path} differs"
        out.unlink()
    st = PreloadStats(stats)
    STATS.notes.append(f"preload [{tool}, {len(large)} large files, {total} B]: {st}")
    assert st["opens_served"] >= len(large), st
    assert st["bytes_served"] >= total, f"{tool}: the preload served {st['bytes_served']} of {total} B: {st}"
    assert st["reads_fallback"] == 0, st
    # holes are zeros and gzip chunks travel compressed: count the plain data files only
    plain = sum(f.blob.size for f in large if f.kind in ("plain", "chunked", "huge"))
    assert st["bytes_http"] == 0 and st["bytes_rdma"] >= 0.95 * plain, f"{tool}: not over the agent: {st}"


def test_tar_and_python_reader(cluster, corpus, mnt, stats, tmp_path):
    """tar of corpus directories under the preload, extracted without it: every file byte-exact."""
    dirs = ["multi", "chunk", "overlap", "hole", "append", "text", "inline", "sizes"]
    root = mnt.p(corpus.root)
    archive = tmp_path / "c.tar"
    run_preloaded(["tar", "-cf", str(archive), "-C", str(root), *dirs], stats)
    out = tmp_path / "x"
    out.mkdir()
    subprocess.run(["tar", "-xf", str(archive), "-C", str(out)], check=True)
    checked = 0
    for f in core_files(corpus):
        rel = f.path[len(corpus.root) + 1:]
        if rel.split("/", 1)[0] in dirs:
            assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == f.blob.sha256(), rel
            checked += 1
    st = PreloadStats(stats)
    STATS.notes.append(f"preload [tar, {checked} files]: {st}")
    assert checked > 20 and st["opens_served"] > 0 and st["reads_fallback"] == 0, st
    assert st["declined_inline"] > 0, f"inline files should be declined (read through FUSE): {st}"


def test_git_fsck_under_preload(cluster, mnt, stats, tmp_path):
    """A git repository on the filer: git fsck under the preload (loose objects are read with
    read(); packs are mmap'ed, which goes through FUSE)."""
    home = tmp_path / "home"
    home.mkdir()
    repo = tmp_path / "repo"
    env = dict(os.environ, HOME=str(home), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t", GIT_CONFIG_NOSYSTEM="1")
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=env)
    for i in range(6):
        (repo / f"f{i % 3}.bin").write_bytes(random_bytes(900 + i, 300000 + i))
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
        subprocess.run(["git", "commit", "-q", "-m", f"c{i}"], cwd=repo, check=True, env=env)
        if i == 3:
            subprocess.run(["git", "gc", "-q"], cwd=repo, check=True, env=env)
    base = "/preload-git/.git"
    for p in sorted((repo / ".git").rglob("*")):
        if p.is_file():
            cluster.put(base + "/" + str(p.relative_to(repo / ".git")), p.read_bytes(), maxMB=1)
    gd = mnt.p(base)
    r = subprocess.run(["git", "-c", "safe.directory=*", f"--git-dir={gd}", "fsck", "--full", "--strict"],
                       env=preloaded_env(stats, {"HOME": str(home)}), capture_output=True)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    head = subprocess.run(["git", "-c", "safe.directory=*", f"--git-dir={gd}", "rev-parse", "HEAD"],
                          env=preloaded_env(stats, {"HOME": str(home)}), capture_output=True, check=True).stdout
    assert head == subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, env=env).stdout
    STATS.notes.append(f"preload [git fsck]: {PreloadStats(stats)}")


# =============================================================================================
# kernel semantics under the preload
# =============================================================================================

def big(corpus):
    return next(f for f in core_files(corpus) if f.path.endswith("/multi/m9-maxmb2"))


def test_dup_family_shares_one_offset(corpus, mnt, stats):
    f = big(corpus)
    r = run_case("dup", str(mnt.p(f.path)), stats)
    data = f.blob.bytes()
    assert r["sha"] == f.blob.sha256(), r
    assert r["offsets"] == [f.blob.size] * 4, r
    assert r["after_close"] == sha(data[12345:13345]), r
    st = PreloadStats(stats)
    assert st["opens_served"] == 1 and st["reads_served"] >= r["reads"] and st["reads_fallback"] == 0, st


def test_threads_share_an_fd(corpus, mnt, stats):
    f = big(corpus)
    r = run_case("threads", str(mnt.p(f.path)), stats)
    data = f.blob.bytes()
    block = 65536
    want = {sha(data[o:o + block]): o for o in range(0, len(data), block)}
    offsets = [want.get(h) for h in r["pieces"]]
    assert None not in offsets, "a thread got bytes that are not a block-aligned piece of the file"
    assert sorted(offsets) == sorted(want.values()), "pieces missing or read twice"
    assert sum(r["sizes"]) == f.blob.size
    assert PreloadStats(stats)["reads_served"] >= len(r["pieces"])


def test_fork_after_open(corpus, mnt, stats):
    f = big(corpus)
    data = f.blob.bytes()
    r = run_case("fork", str(mnt.p(f.path)), stats)
    assert "error" not in r["child"], r
    assert r["status"] == 0
    assert r["first"] == sha(data[:MiB])
    assert r["child"]["child"] == sha(data[MiB:4 * MiB]) and r["child"]["n"] == 3 * MiB, r
    assert r["child"]["pread"] == sha(data[:4096]) and r["pread"] == sha(data[:4096])
    assert r["rest"] == sha(data[4 * MiB:]) and r["rest_n"] == len(data) - 4 * MiB, r
    st = PreloadStats(stats)
    STATS.notes.append(f"preload [fork]: {st}")
    assert len(st.lines) == 1 and st["reads_fallback"] == 0, st
    child = dict(kv.split("=") for kv in r["child"]["stats"].split(": ", 1)[1].split())
    # the child's counters start from the parent's at fork (1 MiB): it served its own 3 MiB + 4 KiB
    assert int(child["bytes_served"]) >= 4 * MiB + 4096 and child["reads_fallback"] == "0", child


def test_exec_inherits_the_fd(corpus, mnt, stats):
    f = big(corpus)
    data = f.blob.bytes()
    r = run_case("exec", str(mnt.p(f.path)), stats)
    assert r["first"] == sha(data[:MiB])
    assert r["rest"] == sha(data[MiB:]) and r["rest_n"] == len(data) - MiB, r
    assert r["unrelated_rc"] == 3 and r["unrelated_out"] == "hello\n" and r["at_end"] == 0, r
    st = PreloadStats(stats)
    STATS.notes.append(f"preload [exec]: {st}")
    # python's open, and cat's inherited stdin found lazily
    assert st["opens_served"] >= 2 and st["bytes_served"] >= len(data), st


def test_other_file_system_untouched(stats, tmp_path):
    r = run_case("otherfs", str(tmp_path / "local.bin"), stats)
    assert r["same"]
    st = PreloadStats(stats)
    assert st["opens_served"] == 0 and st["bytes_served"] == 0, st


def test_mmap_of_a_mount_file(corpus, mnt, stats):
    f = big(corpus)
    data = f.blob.bytes()
    r = run_case("mmap", str(mnt.p(f.path)), stats)
    assert r["sha"] == f.blob.sha256()
    assert r["mid"] == sha(data[len(data) // 2:len(data) // 2 + 5000])


def test_readv_preadv_and_eof(corpus, mnt, stats):
    f = big(corpus)
    data = f.blob.bytes()
    r = run_case("readv", str(mnt.p(f.path)), stats)
    assert r["n"] == 4097 + MiB + 3 and r["head"] == sha(data[:r["n"]])
    assert r["n2"] == 1500 and r["tail"] == sha(data[-1500:])
    assert r["past"] == 0 and r["eof"] == 0


def stepwise(path: str, stats: Path, between) -> dict:
    """preload_cases.py stepwise: reads half of path, then `between()` runs, then the rest."""
    p = subprocess.Popen([sys.executable, str(CASES), "stepwise", path], env=preloaded_env(stats),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert p.stdout.readline().strip() == b"half", p.stderr.read().decode()
        between()
        out, err = p.communicate(b"go\n", timeout=300)
        assert p.returncode == 0, err.decode()
        return json.loads(out.decode().strip().splitlines()[-1])
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_file_changed_during_the_read(cluster, mnt, stats):
    """An fd keeps its snapshot while the file is overwritten; a new open sees the new content."""
    path = "/preload-change/f.bin"
    old = RandomBlob(61, 6 * MiB + 3)
    new = random_bytes(62, 2 * MiB + 1)
    cluster.put(path, old, maxMB=1)
    local = str(mnt.p(path))

    def overwrite():
        cluster.put(path, new, maxMB=1)
        wait_until("the mount to see the new content",
                   lambda: os.path.getsize(local) == len(new), timeout=30)

    r = stepwise(local, stats, overwrite)
    assert r["sha"] == old.sha256() and r["n"] == old.size, "the open fd lost its snapshot"
    assert run_case("sha", local, stats)["sha"] == sha(new)
    st = PreloadStats(stats)
    STATS.notes.append(f"preload [changed during read]: {st}")
    assert st["opens_served"] == 2, st


def test_agent_killed_during_a_read(cluster, corpus, stats):
    """A second agent and mount; the agent is killed halfway through a read: exact bytes (the
    library falls back to HTTP, or to FUSE)."""
    a = Agent(cluster, name="agent-preload-kill")
    a.start()
    try:
        with RdmaMount(cluster, {volume_server_key(cluster): a.address}, name="preload-kill-mount") as m:
            f = next(x for x in core_files(corpus) if x.path.endswith("/big/b40"))
            r = stepwise(str(m.p(f.path)), stats, a.kill9)
            assert r["sha"] == f.blob.sha256() and r["n"] == f.blob.size
            st = PreloadStats(stats)
            STATS.notes.append(f"preload [agent killed mid-read]: {st}")
            assert st["bytes_http"] + st["bytes_fallback"] > 0, f"nothing after the kill went another way: {st}"
    finally:
        if a.alive():
            a.stop()


def test_c_api_open_by_filer_path(cluster, corpus, mnt, tmp_path):
    """The Python binding over libseaweed-rdma-read.so: open by mount path and by filer path,
    pread, batched reads, stats."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("seaweed_rdma", HERE.parent / "python" / "seaweed_rdma" / "__init__.py")
    seaweed_rdma = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(seaweed_rdma)
    seaweed_rdma.load(str(Path(PRELOAD).parent / "libseaweed-rdma-read.so"))
    f = big(corpus)
    data = f.blob.bytes()
    with seaweed_rdma.open(str(mnt.p(f.path))) as h:
        assert h.size == len(data)
        assert h.pread(MiB, 7) == data[7:7 + MiB]
        assert h.pread(100, len(data) - 10) == data[-10:]
        parts = h.pread_batch([(0, 4096), (3 * MiB, MiB), (len(data) - 1, 5)])
        assert parts == [data[:4096], data[3 * MiB:4 * MiB], data[-1:]]
    with seaweed_rdma.open_filer_path(cluster.filer_addr, f.path) as h:
        assert h.read_all() == data
    other = tmp_path / "not-on-the-mount.bin"
    other.write_bytes(b"x" * 100)
    with pytest.raises(OSError) as e:
        seaweed_rdma.open(str(other))
    import errno
    assert e.value.errno == errno.ENOTSUP
    s = seaweed_rdma.stats()
    assert s["opens_served"] >= 2 and s["bytes_served"] >= len(data) + MiB, s


# =============================================================================================
# an encrypted cluster (AES-GCM, gzip + AES-GCM needles decoded in the application)
# =============================================================================================

@pytest.fixture(scope="module")
def enc_cluster():
    with Cluster(encrypt=True, name="preload-enc") as c:
        yield c


def test_encrypted_cluster(enc_cluster, tmp_path):
    c = enc_cluster
    files = {"/enc/m5": RandomBlob(71, 5 * MiB + 7), "/enc/b9": RandomBlob(72, 9 * MiB + 3)}
    texts = {"/enc/t.txt": text_bytes(73, 3 * MiB + 11)}
    for p, b in files.items():
        c.put(p, b, maxMB=1)
    for p, t in texts.items():
        c.put(p, t, maxMB=1, content_type="text/plain")
    a = Agent(c, name="agent-preload-enc")
    a.start()
    try:
        with RdmaMount(c, {volume_server_key(c): a.address}, name="preload-enc-mount") as m:
            stats = tmp_path / "stats.txt"
            names = [*files, *texts]
            r = run_preloaded(["sha256sum", *(str(m.p(p)) for p in names)], stats)
            want = {**{p: b.sha256() for p, b in files.items()}, **{p: sha(t) for p, t in texts.items()}}
            got = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in r.stdout.decode().splitlines()}
            assert all(got[str(m.p(p))] == want[p] for p in names), got
            for p in names:
                out = subprocess.run(["cat", str(m.p(p))], env=preloaded_env(stats), capture_output=True)
                assert sha(out.stdout) == want[p], p
            st = PreloadStats(stats)
            STATS.notes.append(f"preload [encrypted cluster]: {st}")
            total = sum(b.size for b in files.values()) + sum(len(t) for t in texts.values())
            assert st["bytes_served"] >= total and st["reads_fallback"] == 0, st
            # whole encrypted needles are fetched once per process and sliced from the chunk cache
            assert st["bytes_rdma"] + st["bytes_http"] <= 1.5 * st["bytes_served"], f"read amplification: {st}"
    finally:
        a.stop()


# =============================================================================================
# the ioctls themselves, on a cluster that requires read tokens
# =============================================================================================

def _ioc_wr(nr: int, size: int) -> int:
    return (3 << 30) | (size << 16) | (ord("W") << 8) | nr


TOKEN_SIZE = 4 + 4 + 64 + 4 + 4 + 2048
PAGE_SIZE = 16376


def token_ioctl(fd: int, fid: str) -> tuple[str, int]:
    import fcntl
    import struct
    req = bytearray(TOKEN_SIZE)
    struct.pack_into("<II64s", req, 0, 1, len(fid), fid.encode())
    fcntl.ioctl(fd, _ioc_wr(0x52, TOKEN_SIZE), req)
    n, lifetime = struct.unpack_from("<Ii", req, 72)
    return bytes(req[80:80 + n]).decode(), lifetime


def snapshot_page(fd: int, offset: int = 0) -> dict:
    import fcntl
    import struct
    page = bytearray(PAGE_SIZE)
    struct.pack_into("<IIQ", page, 0, 1, 0, offset)
    fcntl.ioctl(fd, _ioc_wr(0x51, PAGE_SIZE), page)
    abi, n, off, total, sid, crc, _ = struct.unpack_from("<IIQQQII", page, 0)
    return {"abi": abi, "n": n, "total": total, "id": sid, "data": bytes(page[40:40 + n])}


def test_cluster_with_read_tokens(tmp_path):
    """Read JWTs required: the preload serves the file with tokens the daemon mints (byte-exact);
    the daemon's token ioctl hands out a JWT for a fid of the handle and refuses any other fid;
    the snapshot says tokens."""
    import base64
    import errno
    import struct
    from harness import Mount
    key = "preload-read-key"
    with Cluster(name="preload-jwt", security_toml=f'[jwt.signing.read]\nkey = "{key}"\n') as c:
        blob = RandomBlob(81, 3 * MiB + 5)
        c.put("/jwt/f", blob, maxMB=1)
        with Mount(c, ["-readOnly", f"-jwt.signing.read.key={key}"], name="preload-jwt-mount") as m:
            stats = tmp_path / "stats.txt"
            out = subprocess.run(["cat", str(m.p("/jwt/f"))], env=preloaded_env(stats), capture_output=True)
            assert out.returncode == 0 and sha(out.stdout) == blob.sha256()
            st = PreloadStats(stats)
            assert st["declined_tokens"] == 0 and st["reads_fallback"] == 0, st
            assert st["bytes_served"] == blob.size, st
            fids = [ch.get("file_id") or ch.get("fileId") for ch in c.chunks_of("/jwt/f")]
            fd = os.open(m.p("/jwt/f"), os.O_RDONLY)
            try:
                token, lifetime = token_ioctl(fd, fids[0])
                payload = token.split(".")[1]
                claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
                assert claims["fid"] == fids[0] and lifetime > 0, claims
                with pytest.raises(OSError) as e:
                    token_ioctl(fd, "1,0123456789abcdef")
                assert e.value.errno == errno.EPERM
                page = snapshot_page(fd)
                assert page["abi"] == 1 and page["n"] == page["total"] and page["data"][:4] == b"SWRL"
                flags = struct.unpack_from("<I", page["data"], 24)[0]
                assert flags & 1, "the snapshot must say the cluster needs tokens"
                assert snapshot_page(fd)["id"] == page["id"]
                with pytest.raises(OSError) as e:
                    snapshot_page(fd, page["total"] + 1)
                assert e.value.errno == errno.EINVAL
            finally:
                os.close(fd)


# A process under the preload on a read-JWT cluster: reads two files, waits (polling the volume
# server) until the first token it was handed has expired, and reads again through the same fds.
TOKEN_CASE = r"""
import fcntl, hashlib, json, os, struct, sys, time, urllib.error, urllib.request
a_path, b_path, volume, fid = sys.argv[1:5]
def token_ioctl(fd, fid):  # SWR_IOC_TOKEN, as token_ioctl() in test_preload.py
    size = 4 + 4 + 64 + 4 + 4 + 2048
    req = bytearray(size)
    struct.pack_into("<II64s", req, 0, 1, len(fid), fid.encode())
    fcntl.ioctl(fd, (3 << 30) | (size << 16) | (ord("W") << 8) | 0x52, req)
    n, lifetime = struct.unpack_from("<Ii", req, 72)
    return bytes(req[80:80 + n]).decode(), lifetime
def whole(fd, size):
    h, off = hashlib.sha256(), 0
    while off < size:
        n = os.pread(fd, min(1 << 20, size - off), off)
        if not n:
            break
        h.update(n)
        off += len(n)
    return h.hexdigest()
a, b = os.open(a_path, os.O_RDONLY), os.open(b_path, os.O_RDONLY)
size_a, size_b = os.fstat(a).st_size, os.fstat(b).st_size
first = whole(a, size_a)
assert len(os.pread(b, 1, 0)) == 1  # b's first chunk: its token fetched now
old, lifetime = token_ioctl(a, fid)
costs = []
for _ in range(51):  # what one token costs the library (a FUSE ioctl round trip, plus Python here)
    t0 = time.perf_counter()
    token_ioctl(a, fid)
    costs.append(time.perf_counter() - t0)
ioctl_us = sorted(costs)[25] * 1e6
def refused():
    req = urllib.request.Request(f"{volume}/{fid}", headers={"Authorization": "Bearer " + old})
    try:
        urllib.request.urlopen(req, timeout=5).read()
        return False
    except urllib.error.HTTPError as e:
        return e.code == 401
deadline = time.monotonic() + lifetime + 30
while not refused():
    assert time.monotonic() < deadline, "the volume server still accepts an expired token"
    time.sleep(0.1)
print(json.dumps({"first": first, "again": whole(a, size_a), "b": whole(b, size_b), "lifetime": lifetime,
                  "ioctl_us": ioctl_us}))
"""


@pytest.fixture(scope="module")
def short_token_cluster():
    key = "preload-short-read-key"
    toml = f'[jwt.signing.read]\nkey = "{key}"\nexpires_after_seconds = 2\n'
    with Cluster(name="preload-jwt-short", security_toml=toml) as c:
        a, b = RandomBlob(82, 3 * MiB + 7), RandomBlob(83, 2 * MiB + 11)
        c.put("/tok/a", a, maxMB=1)
        c.put("/tok/b", b, maxMB=1)
        yield c, a, b


@pytest.mark.parametrize("via", ["agent", "http"])
def test_read_tokens_from_the_daemon_outlive_their_lifetime(short_token_cluster, tmp_path, via):
    """Read JWTs required, tokens that live 2 s ([jwt.signing.read] expires_after_seconds): the
    preload reads byte-exact over the agent (or HTTP without one) with per-fid tokens the mount
    hands out (the application never holds the key), served by the library and not by FUSE, and
    still reads through the same fds after the first token has expired (refreshed ones)."""
    from harness import Mount
    c, a_blob, b_blob = short_token_cluster
    conf = f"-security.config={c.dir / 'security.toml'}"
    fid = c.chunks_of("/tok/a")[0]["file_id"]
    script = tmp_path / "token_case.py"
    script.write_text(TOKEN_CASE)
    stats = tmp_path / "stats.txt"

    def run(m):
        r = run_preloaded([sys.executable, str(script), str(m.p("/tok/a")), str(m.p("/tok/b")),
                           c.volume_url(0), fid], stats, timeout=120)
        return json.loads(r.stdout.decode().strip().splitlines()[-1])

    if via == "agent":
        agent = Agent(c, name="agent-preload-jwt", extra=[conf]).start()
        try:
            with RdmaMount(c, {volume_server_key(c): agent.address}, args=[conf], name="preload-jwt-agent") as m:
                out = run(m)
        finally:
            agent.stop()
    else:
        with Mount(c, ["-readOnly", conf], name="preload-jwt-http") as m:
            out = run(m)
    assert out["lifetime"] == 2, out
    print(f"token ioctl p50 {out['ioctl_us']:.0f} us ({via})")
    assert out["first"] == a_blob.sha256() and out["again"] == a_blob.sha256(), out
    assert out["b"] == b_blob.sha256(), out
    st = PreloadStats(stats)
    assert st["opens_served"] == 2 and st["declined_tokens"] == 0, st
    assert st["reads_fallback"] == 0 and st["bytes_fallback"] == 0, st
    assert st["bytes_served"] == 2 * a_blob.size + b_blob.size + 1, st
    if via == "agent":
        assert st["bytes_rdma"] > 0 and st["bytes_http"] == 0, st
    else:
        assert st["bytes_http"] > 0 and st["bytes_rdma"] == 0, st

"""Real programs on the mount: cp -r + diff, tar, git (fsck, clone), sqlite, zip."""

from __future__ import annotations

import difflib
import hashlib
import os
import shutil
import sqlite3
import subprocess
import zipfile
from pathlib import Path

import pytest

from harness import (STATS, MiB, Mount, random_bytes, run, sha256_file, text_bytes, upload_tree)

pytestmark = pytest.mark.programs

ROOT = "/programs"


def make_tree(d: Path) -> None:
    """A small source tree with the usual suspects; modes normalised (files 0644/0755/0600/0660,
    dirs 0755) so tar headers can match."""
    (d / "src/a/b/c").mkdir(parents=True)
    (d / "bin").mkdir()
    (d / "text").mkdir()
    (d / "unicode ü 日本").mkdir()
    (d / "emptydir").mkdir()
    (d / "README.txt").write_bytes(text_bytes(1, 10000))
    (d / "empty").write_bytes(b"")
    (d / "tiny").write_bytes(b"0123456789")                 # stored inline by the cluster
    (d / "bin/random-1.5M").write_bytes(random_bytes(2, MiB + MiB // 2))
    (d / "bin/random-5M").write_bytes(random_bytes(3, 5 * MiB + 3))
    (d / "bin/tool.sh").write_bytes(b"#!/bin/sh\necho hello\n")
    (d / "src/a/b/c/deep.c").write_bytes(b"int main(void) { return 0; }\n" * 100)
    (d / "text/big.txt").write_bytes(text_bytes(4, 2 * MiB + 1))
    (d / "unicode ü 日本/файл.txt").write_bytes("привет мир\n".encode() * 50)
    os.symlink("README.txt", d / "link-to-readme")
    os.symlink("src/a", d / "link-to-dir")
    for p in d.rglob("*"):
        if p.is_symlink():
            continue
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    os.chmod(d, 0o755)
    os.chmod(d / "bin/tool.sh", 0o755)
    os.chmod(d / "bin/random-5M", 0o600)
    os.chmod(d / "text/big.txt", 0o660)


GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e",
           "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z"}


def git(*args, cwd=None, home=None, check=True):
    env = dict(os.environ, **GIT_ENV, HOME=str(home))
    return run(["git", "-c", "safe.directory=*", *args], cwd=cwd, env=env, check=check, timeout=300)


def make_git_repo(d: Path, home: Path) -> None:
    d.mkdir()
    git("init", "-q", "-b", "main", str(d), home=home)
    for i in range(12):
        (d / f"file{i % 5}.txt").write_bytes(text_bytes(100 + i, 2000 + i * 500))
        (d / "data.bin").write_bytes(random_bytes(200 + i, 50000 + i))
        git("add", "-A", cwd=d, home=home)
        git("commit", "-q", "-m", f"commit {i}", cwd=d, home=home)
        if i == 5:
            git("branch", "feature", cwd=d, home=home)
            git("tag", "-a", "v1", "-m", "tag v1", cwd=d, home=home)
        if i == 8:
            git("gc", "-q", cwd=d, home=home)  # packs + packed-refs; later commits stay loose


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    base = tmp_path_factory.mktemp("programs")
    home = base / "home"
    home.mkdir()
    make_tree(base / "tree")
    make_git_repo(base / "repo", home)
    # sqlite database
    db = base / "db.sqlite"
    con = sqlite3.connect(db)
    con.execute("PRAGMA page_size=4096")
    con.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, b BLOB)")
    con.execute("CREATE INDEX t_name ON t(name)")
    con.executemany("INSERT INTO t(name, b) VALUES (?, ?)",
                    ((f"row-{i}-" + "x" * (i % 50), random_bytes(300 + i, i % 700)) for i in range(30000)))
    con.commit()
    con.execute("VACUUM")
    con.close()
    # zip archive: deflated text, stored random, a directory entry
    zp = base / "archive.zip"
    with zipfile.ZipFile(zp, "w") as z:
        z.writestr("dir/", b"")
        z.writestr("text.txt", text_bytes(400, 3 * MiB), compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("random.bin", random_bytes(401, 3 * MiB + 5), compress_type=zipfile.ZIP_STORED)
        for i in range(50):
            z.writestr(f"dir/small-{i}.txt", text_bytes(500 + i, 100 * i + 1),
                       compress_type=zipfile.ZIP_DEFLATED)
    return {"base": base, "home": home, "tree": base / "tree", "repo": base / "repo",
            "db": db, "zip": zp}


@pytest.fixture(scope="module")
def uploaded(cluster, local):
    counts = upload_tree(cluster, local["tree"], f"{ROOT}/tree", maxMB=1)
    counts_git = upload_tree(cluster, local["repo"] / ".git", f"{ROOT}/repo/.git")
    cluster.put(f"{ROOT}/db.sqlite", local["db"].read_bytes(), maxMB=1)
    cluster.put(f"{ROOT}/archive.zip", local["zip"].read_bytes(), maxMB=1)
    STATS.notes.append(f"programs: tree {counts}; .git {counts_git}; "
                       f"db {local['db'].stat().st_size} bytes; zip {local['zip'].stat().st_size} bytes")
    return True


@pytest.fixture(scope="module")
def mnt(cluster, uploaded):
    with Mount(cluster, ["-readOnly"], name="programs-mount") as m:
        yield m


def test_cp_r_and_diff(local, mnt, tmp_path):
    src = mnt.p(f"{ROOT}/tree")
    run(["cp", "-r", str(src), str(tmp_path / "copy")])
    r = run(["diff", "-r", "--no-dereference", str(local["tree"]), str(tmp_path / "copy")], check=False)
    assert r.returncode == 0, f"diff -r found differences:\n{r.stdout.decode()[-3000:]}{r.stderr.decode()[-2000:]}"
    n = sum(p.stat().st_size for p in local["tree"].rglob("*") if p.is_file() and not p.is_symlink())
    STATS.add(n, files=sum(1 for p in local["tree"].rglob("*") if p.is_file() and not p.is_symlink()))


TAR = ["tar", "-c", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner",
       "--format=gnu", "-f", "-", "."]


def test_tar_matches(local, mnt):
    def tar_sha(root):
        r = run(TAR, cwd=str(root))
        return hashlib.sha256(r.stdout).hexdigest(), r.stdout

    exp_sha, exp_tar = tar_sha(local["tree"])
    got_sha, got_tar = tar_sha(mnt.p(f"{ROOT}/tree"))
    if got_sha != exp_sha:
        exp_l, got_l = _tar_listing(exp_tar).splitlines(), _tar_listing(got_tar).splitlines()
        diff = "\n".join(difflib.unified_diff(exp_l, got_l, "local", "mount", lineterm=""))
        pytest.fail(f"tar sha256 differs: mount {got_sha} ({len(got_tar)} bytes) vs local {exp_sha} "
                    f"({len(exp_tar)} bytes); tar -tv diff:\n{diff or '(listings equal: contents differ)'}")
    STATS.add(len(got_tar))


def _tar_listing(data: bytes) -> str:
    r = subprocess.run(["tar", "-tv", "--numeric-owner", "-f", "-"], input=data, capture_output=True)
    return r.stdout.decode("utf-8", "replace")


def test_git_fsck_on_mount(local, mnt):
    gd = mnt.p(f"{ROOT}/repo/.git")
    r = git(f"--git-dir={gd}", "fsck", "--full", "--strict", "--no-dangling", home=local["home"], check=False)
    assert r.returncode == 0, f"git fsck on the mount failed:\n{r.stdout.decode()}\n{r.stderr.decode()}"
    head = git(f"--git-dir={gd}", "rev-parse", "HEAD", "feature", "v1", home=local["home"]).stdout
    exp = git("rev-parse", "HEAD", "feature", "v1", cwd=local["repo"], home=local["home"]).stdout
    assert head == exp


@pytest.mark.parametrize("mode", ["--no-local", "--no-hardlinks"])
def test_git_clone(local, mnt, tmp_path, mode):
    """git clone from the mount (--no-local: upload-pack reads the packs via mmap; --no-hardlinks: copies
    the object files), then fsck the clone and compare the checkout with the source work tree."""
    gd = mnt.p(f"{ROOT}/repo/.git")
    clone = tmp_path / "clone"
    r = git("clone", "-q", mode, str(gd), str(clone), home=local["home"], check=False)
    assert r.returncode == 0, f"git clone {mode} failed:\n{r.stderr.decode()}"
    r = git("-C", str(clone), "fsck", "--full", "--strict", home=local["home"], check=False)
    assert r.returncode == 0, f"git fsck of the clone failed:\n{r.stdout.decode()}\n{r.stderr.decode()}"
    assert git("-C", str(clone), "rev-parse", "HEAD", "origin/feature", "v1", home=local["home"]).stdout == \
        git("rev-parse", "HEAD", "feature", "v1", cwd=local["repo"], home=local["home"]).stdout
    r = run(["diff", "-r", "--exclude=.git", str(local["repo"]), str(clone)], check=False)
    assert r.returncode == 0, r.stdout.decode()[-3000:]


def test_sqlite_integrity(local, mnt):
    p = mnt.p(f"{ROOT}/db.sqlite")
    con = sqlite3.connect(f"file:{p}?mode=ro&immutable=1", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        got = con.execute("SELECT count(*), sum(length(b)), sum(length(name)) FROM t").fetchone()
        h = hashlib.sha256()
        for row in con.execute("SELECT id, name, b FROM t ORDER BY name"):
            h.update(repr(row).encode())
    finally:
        con.close()
    lcon = sqlite3.connect(local["db"])
    exp = lcon.execute("SELECT count(*), sum(length(b)), sum(length(name)) FROM t").fetchone()
    he = hashlib.sha256()
    for row in lcon.execute("SELECT id, name, b FROM t ORDER BY name"):
        he.update(repr(row).encode())
    lcon.close()
    assert got == exp
    assert h.hexdigest() == he.hexdigest()
    assert sha256_file(p) == sha256_file(local["db"])
    STATS.add(local["db"].stat().st_size)


def test_zip_testzip(local, mnt):
    p = mnt.p(f"{ROOT}/archive.zip")
    with zipfile.ZipFile(p) as z, zipfile.ZipFile(local["zip"]) as lz:
        assert z.testzip() is None
        assert z.namelist() == lz.namelist()
        for n in lz.namelist():
            assert z.read(n) == lz.read(n), n
    STATS.add(local["zip"].stat().st_size)


def test_shell_tools(local, mnt):
    """sha256sum / cmp / wc on the mount agree with the local copies."""
    for rel in ("bin/random-5M", "text/big.txt", "unicode ü 日本/файл.txt", "empty", "tiny"):
        m = mnt.p(f"{ROOT}/tree/{rel}")
        lp = local["tree"] / rel
        out = run(["sha256sum", str(m)]).stdout.decode().split()[0]
        assert out == sha256_file(lp), rel
        assert run(["cmp", str(m), str(lp)], check=False).returncode == 0, rel
    if shutil.which("dd"):
        r = run(["dd", f"if={mnt.p(f'{ROOT}/tree/bin/random-5M')}", "bs=4096", "skip=300", "count=7",
                 "status=none"])
        with open(local["tree"] / "bin/random-5M", "rb") as f:
            f.seek(300 * 4096)
            assert r.stdout == f.read(7 * 4096)

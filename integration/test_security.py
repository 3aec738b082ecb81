"""The cluster's security settings, read the way weed reads them, and a closed mount surface.

* Read JWT: volume servers that require `[jwt.signing.read] key`. The mount reads multi-chunk,
  gzip and inline files byte-exact with the key from security.toml in its working directory, from
  WEED_JWT_SIGNING_READ_KEY, and from -security.config; the key never appears on its command line.
  Without a key every chunk read fails with EIO and the log says 401.
* gRPC mutual TLS to the filer: one CA and one certificate (openssl) for master, volume servers,
  filer and clients. The mount works with the cluster's security.toml and exits 1 with one line
  without it, with a certificate of another CA, and with TLS settings against a plain filer.
* fsname injection: -filer.path=/q,allow_other and /s,suid,dev mount without extra options, and
  nosuid,nodev are always there unless -suid/-dev is asked for.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from harness import (MOUNT_BIN, STATS, TMP_PREFIX, Cluster, MiB, Mount, http_request, is_mounted,
                     lazy_unmount, random_bytes, text_bytes)

JWT_KEY = "it-" + secrets.token_hex(16)


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def upload_subset(c: Cluster, root: str) -> dict[str, bytes]:
    """Multi-chunk, gzip (compressible text: the filer gzips it), inline (below saveToFilerLimit)."""
    files = {
        f"{root}/multi.bin": random_bytes(11, 3 * MiB + 12345),
        f"{root}/text.txt": text_bytes(12, 700_000),
        f"{root}/small.bin": random_bytes(13, 40),
    }
    for path, data in files.items():
        c.put(path, data, maxMB=1)
    chunks = c.chunks_of(f"{root}/text.txt")
    assert any(ch.get("is_compressed") for ch in chunks), f"text.txt was not stored gzipped: {chunks}"
    assert not c.chunks_of(f"{root}/small.bin"), "small.bin was not stored inline"
    return files


def mount_log_path(m: Mount) -> Path:
    return m.log_dir / f"{m.name}-{m.path.name}.log"


def read_all(m: Mount, files: dict[str, bytes]) -> None:
    for path, data in files.items():
        got = m.p(path).read_bytes()
        assert sha(got) == sha(data), f"{path}: {len(got)} bytes, sha256 differs from the upload\n{m.log(30)}"
        STATS.add(len(got))


def cmdline_of(m: Mount) -> str:
    return Path(f"/proc/{m.proc.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


@pytest.fixture
def empty_dir():
    d = tempfile.mkdtemp(prefix=TMP_PREFIX + "sec-")
    yield Path(d)
    subprocess.run(["rm", "-rf", d], check=False)


def no_config_env(home: Path) -> dict:
    """No security.toml anywhere on the search path ($HOME points at an empty folder) and no
    WEED_* variables from the test runner's environment."""
    env = {k: "" for k in os.environ if k.startswith("WEED_")}
    env["HOME"] = str(home)
    return env


# ============================================================================ read JWT

@pytest.fixture(scope="module")
def jwt_cluster():
    toml = f'[jwt.signing.read]\nkey = "{JWT_KEY}"\nexpires_after_seconds = 10\n'
    with Cluster(name="jwt", security_toml=toml, filer_args=["-filer.saveToFilerLimit=64"]) as c:
        yield c


@pytest.fixture(scope="module")
def jwt_files(jwt_cluster):
    files = upload_subset(jwt_cluster, "/jwt")
    fid = jwt_cluster.chunks_of("/jwt/multi.bin")[0]["file_id"]
    r = http_request(f"{jwt_cluster.volume_url(0)}/{fid}")
    assert r.status == 401, f"the volume server serves {fid} without a token: HTTP {r.status}"
    return files


def test_jwt_key_from_security_toml_in_the_working_directory(jwt_cluster, jwt_files, empty_dir):
    (empty_dir / "security.toml").write_text(f'[jwt.signing.read]\nkey = "{JWT_KEY}"\n')
    with Mount(jwt_cluster, ["-readOnly"], cwd=empty_dir, env=no_config_env(empty_dir / "home"),
               name="jwt-cwd") as m:
        read_all(m, jwt_files)
        assert JWT_KEY not in cmdline_of(m)
        assert str(empty_dir / "security.toml") in m.log(200), m.log(30)


def test_jwt_key_from_the_environment(jwt_cluster, jwt_files, empty_dir):
    env = no_config_env(empty_dir)
    env["WEED_JWT_SIGNING_READ_KEY"] = JWT_KEY
    with Mount(jwt_cluster, ["-readOnly"], cwd=empty_dir, env=env, name="jwt-env") as m:
        read_all(m, jwt_files)
        assert JWT_KEY not in cmdline_of(m)
        assert "security config: environment" in m.log(200), m.log(30)


def test_jwt_key_from_security_config_flag(jwt_cluster, jwt_files, empty_dir):
    conf = empty_dir / "elsewhere" / "cluster-a.toml"
    conf.parent.mkdir()
    conf.write_text(f'# cluster A\n[jwt.signing.read]\nkey = "{JWT_KEY}"\nexpires_after_seconds = 5\n')
    with Mount(jwt_cluster, ["-readOnly", f"-security.config={conf}"], cwd=empty_dir,
               env=no_config_env(empty_dir), name="jwt-flag") as m:
        read_all(m, jwt_files)


def test_deprecated_key_flag_still_works_and_warns(jwt_cluster, jwt_files, empty_dir):
    with Mount(jwt_cluster, ["-readOnly", f"-jwt.signing.read.key={JWT_KEY}"], cwd=empty_dir,
               env=no_config_env(empty_dir), name="jwt-oldflag") as m:
        read_all(m, {p: d for p, d in jwt_files.items() if p.endswith("multi.bin")})
        assert "-jwt.signing.read.key is deprecated" in m.log(200), m.log(30)


def test_without_the_key_every_chunk_read_fails_with_401_in_the_log(jwt_cluster, jwt_files, empty_dir):
    with Mount(jwt_cluster, ["-readOnly"], cwd=empty_dir, env=no_config_env(empty_dir), name="jwt-none") as m:
        for path, data in jwt_files.items():
            if path.endswith("small.bin"):  # inline: no volume server involved
                assert m.p(path).read_bytes() == data
                continue
            with pytest.raises(OSError) as e:
                m.p(path).read_bytes()
            assert e.value.errno == errno.EIO, f"{path}: {e.value!r}"
        log = m.log(200)
        assert "HTTP 401" in log and "wrong jwt" in log, log


def test_malformed_security_toml_is_one_line_naming_file_and_line(jwt_cluster, empty_dir):
    (empty_dir / "security.toml").write_text('[jwt.signing.read]\nkey = "unterminated\n')
    mp = empty_dir / "mnt"
    mp.mkdir()
    p = subprocess.run([MOUNT_BIN, f"-filer={jwt_cluster.filer_addr}", str(mp)], cwd=empty_dir,
                       env={**os.environ, **no_config_env(empty_dir)}, capture_output=True, text=True, timeout=30)
    if is_mounted(mp):
        lazy_unmount(mp)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 1, p.stderr
    assert len(lines) == 1 and f"{empty_dir / 'security.toml'}:2:" in lines[0], p.stderr


# ============================================================================ gRPC mTLS

def openssl(*args, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d: Path, name: str) -> dict[str, Path]:
    """A CA and one certificate it signed (EC P-256), usable as server and client certificate."""
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", f"/CN={name}-ca",
            cwd=d)
    openssl("req", *ec, "-keyout", "node.key", "-out", "node.csr", "-subj", f"/CN={name}-node", cwd=d)
    (d / "ext.cnf").write_text("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                               "extendedKeyUsage=serverAuth,clientAuth\n"
                               # a name no server has: host names are not checked, as in weed
                               "subjectAltName=DNS:not-this-host.example\n")
    openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "node.crt", "-days", "2", "-extfile", "ext.cnf", cwd=d)
    return {"ca": d / "ca.crt", "cert": d / "node.crt", "key": d / "node.key"}


def tls_toml(pki: dict[str, Path], sections=("master", "volume", "filer", "client")) -> str:
    out = f'[grpc]\nca = "{pki["ca"]}"\n'
    for s in sections:
        out += f'\n[grpc.{s}]\ncert = "{pki["cert"]}"\nkey = "{pki["key"]}"\n'
    return out


@pytest.fixture(scope="module")
def pki_dir():
    d = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "pki-"))
    yield d
    subprocess.run(["rm", "-rf", str(d)], check=False)


@pytest.fixture(scope="module")
def pki(pki_dir):
    return make_pki(pki_dir / "cluster", "cluster")


@pytest.fixture(scope="module")
def tls_cluster(pki):
    with Cluster(name="tls", security_toml=tls_toml(pki)) as c:
        yield c


def run_mount_expecting_failure(cluster: Cluster, cwd: Path, env: dict, args=()) -> list[str]:
    mp = cwd / "mnt"
    mp.mkdir(exist_ok=True)
    t0 = time.monotonic()
    p = subprocess.run([MOUNT_BIN, f"-filer={cluster.filer_addr}", *args, str(mp)], cwd=cwd,
                       env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    secs = time.monotonic() - t0
    if is_mounted(mp):
        lazy_unmount(mp)
        pytest.fail(f"mounted although it should not have: {p.stderr}")
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    STATS.notes.append(f"security: exit {p.returncode} after {secs:.1f}s: {lines}")
    assert p.returncode == 1, f"exit {p.returncode}\n{p.stderr}"
    assert len(lines) == 1, f"expected one line, got:\n{p.stderr}"
    assert secs < 15, f"took {secs:.1f}s"
    return lines


def test_tls_filer_mounts_with_the_clusters_security_toml(tls_cluster):
    data = random_bytes(21, 2 * MiB + 7)
    tls_cluster.put("/tls/a.bin", data, maxMB=1)
    with Mount(tls_cluster, ["-readOnly"], cwd=tls_cluster.dir, env=no_config_env(tls_cluster.dir),
               name="tls-mount") as m:
        assert m.p("/tls/a.bin").read_bytes() == data
        assert "filer gRPC mutual TLS" in m.log(200), m.log(30)
        # the metadata subscription runs over TLS too (its own channel): it never ends
        tls_cluster.put("/tls/b.bin", b"after mount\n")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and "b.bin" not in os.listdir(m.p("/tls")):
            time.sleep(0.05)
        assert m.p("/tls/b.bin").read_bytes() == b"after mount\n"
        assert "metadata stream from the filer ended" not in m.log(500), m.log(30)


def test_tls_filer_without_security_toml_fails_in_one_line(tls_cluster, empty_dir):
    [line] = run_mount_expecting_failure(tls_cluster, empty_dir, no_config_env(empty_dir))
    assert "the filer requires TLS" in line and "[grpc]" in line, line


def test_certificate_of_another_ca_fails_in_one_line(tls_cluster, pki_dir, empty_dir):
    other = make_pki(pki_dir / "other", "other")
    (empty_dir / "security.toml").write_text(tls_toml(other, sections=("client",)))
    [line] = run_mount_expecting_failure(tls_cluster, empty_dir, no_config_env(empty_dir))
    assert "TLS handshake failed" in line and "certificates not accepted" in line, line


def test_client_certificate_the_filer_refuses_fails_in_one_line(tls_cluster, pki, pki_dir, empty_dir):
    other = make_pki(pki_dir / "other-client", "intruder")
    (empty_dir / "security.toml").write_text(
        f'[grpc]\nca = "{pki["ca"]}"\n[grpc.client]\ncert = "{other["cert"]}"\nkey = "{other["key"]}"\n')
    [line] = run_mount_expecting_failure(tls_cluster, empty_dir, no_config_env(empty_dir))
    assert "TLS handshake failed" in line and "certificates not accepted" in line, line


def test_tls_settings_against_a_plain_filer_fail_in_one_line(jwt_cluster, pki, empty_dir):
    (empty_dir / "security.toml").write_text(tls_toml(pki, sections=("client",)))
    [line] = run_mount_expecting_failure(jwt_cluster, empty_dir, no_config_env(empty_dir))
    assert "TLS handshake failed: the filer does not speak TLS" in line, line


def test_unreadable_certificate_is_one_line(tls_cluster, pki, empty_dir):
    (empty_dir / "security.toml").write_text(
        f'[grpc]\nca = "{pki["ca"]}"\n[grpc.client]\ncert = "missing.crt"\nkey = "{pki["key"]}"\n')
    [line] = run_mount_expecting_failure(tls_cluster, empty_dir, no_config_env(empty_dir))
    assert f"{empty_dir / 'missing.crt'}: No such file or directory" in line, line


# ============================================================================ mount options

def mount_options_of(path: Path) -> list[str]:
    for line in Path("/proc/mounts").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] == str(path):
            return parts[3].split(",")
    raise AssertionError(f"{path} not in /proc/mounts")


@pytest.mark.parametrize("filer_path", ["/q,allow_other", "/s,suid,dev"])
def test_filer_path_cannot_inject_mount_options(jwt_cluster, filer_path):
    jwt_cluster.mkdir(filer_path)
    with Mount(jwt_cluster, ["-readOnly", "-allowOthers=false", f"-filer.path={filer_path}"], name="fsname") as m:
        opts = mount_options_of(m.path)
        STATS.notes.append(f"security: -filer.path={filer_path} mounted with {','.join(opts)}")
        assert "allow_other" not in opts, opts
        assert "nosuid" in opts and "nodev" in opts, opts
        assert "suid" not in opts and "dev" not in opts, opts
        fsname = next(ln.split()[0] for ln in Path("/proc/mounts").read_text().splitlines()
                      if ln.split()[1] == str(m.path))
        assert fsname.endswith(":" + filer_path), fsname  # one value, shown as given


def test_suid_and_dev_only_when_root_asks(jwt_cluster):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    with Mount(jwt_cluster, ["-readOnly", "-o", "suid,dev"], name="suid") as m:
        opts = mount_options_of(m.path)
        assert "nosuid" not in opts and "nodev" not in opts, opts

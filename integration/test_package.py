"""The Debian package, end to end, as an administrator uses it (needs root and dpkg):

  build the .deb with cpack from the build tree, `dpkg -i` it, check what it holds (binaries, the
  mount(8) helper link, units that pass `systemd-analyze verify`, man pages, docs, declared
  dependencies), mount through `mount -t fuse.seaweed-rdma-mount` and through fstab lines
  (`mount -T FILE -a`, twice: the second finds them mounted), read byte-exact, unmount, and
  `dpkg --purge`. The machine is left as it was found: the test refuses to run when the package or
  its files are already there, and removes the package on any failure.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from harness import STATS, TMP_PREFIX, is_mounted, lazy_unmount, random_bytes

PACKAGE = "seaweed-rdma-mount"
BUILD_DIR = Path(os.environ.get("SEAWEED_BUILD_DIR", Path(__file__).resolve().parent.parent / "build"))
ROOT = "/pkg"
FILES = {"a.txt": b"installed from the package\n", "two-chunks.bin": random_bytes(2201, 2 * (1 << 20) + 77),
         "dir/c.bin": random_bytes(2202, 5000)}
INSTALLED = ["/usr/bin/seaweed-rdma-mount", "/usr/bin/seaweed-rdma-agent", "/sbin/mount.fuse.seaweed-rdma-mount",
             "/usr/lib/systemd/system/seaweed-rdma-mount@.service",
             "/usr/lib/systemd/system/seaweed-rdma-agent.service",
             "/usr/share/man/man8/seaweed-rdma-mount.8", "/usr/share/man/man8/seaweed-rdma-agent.8",
             "/usr/share/doc/seaweed-rdma-mount/MOUNTING.md", "/usr/share/doc/seaweed-rdma-mount/README.md",
             "/usr/share/doc/seaweed-rdma-mount/seaweed-rdma-mount.txt",
             "/usr/share/doc/seaweed-rdma-mount/examples/fstab",
             "/usr/share/doc/seaweed-rdma-mount/examples/mnt-seaweed.mount",
             "/usr/share/doc/seaweed-rdma-mount/examples/mnt-seaweed.automount"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("dpkg"),
                                reason="installs a Debian package: needs root and dpkg")


def sh(*argv, check=True, timeout=300) -> subprocess.CompletedProcess:
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        pytest.fail(f"{' '.join(map(str, argv))}: exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def installed() -> bool:
    return sh("dpkg-query", "-W", "-f=${Status}", PACKAGE, check=False).stdout.startswith("install ok")


@pytest.fixture(scope="module")
def deb(tmp_path_factory) -> Path:
    config = BUILD_DIR / "CPackConfig.cmake"
    if not config.exists():
        pytest.fail(f"{config} missing: configure and build first (scripts/build.sh)")
    out = tmp_path_factory.mktemp("deb")
    t0 = time.monotonic()
    sh("cpack", "-G", "DEB", "--config", config, "-B", out)
    debs = list(out.glob(f"{PACKAGE}_*.deb"))
    assert len(debs) == 1, list(out.iterdir())
    STATS.notes.append(f"package: {debs[0].name}, {debs[0].stat().st_size / 1e6:.1f} MB, built in "
                       f"{time.monotonic() - t0:.0f}s")
    return debs[0]


@pytest.fixture(scope="module")
def package(deb):
    """Installs the .deb for the module's tests and purges it afterwards, whatever happens."""
    if installed():
        pytest.skip(f"{PACKAGE} is already installed here: not touching it")
    present = [p for p in INSTALLED if os.path.lexists(p)]
    if present:
        pytest.skip(f"files the package would install already exist: {present}")
    try:
        sh("dpkg", "-i", deb)
        yield deb
    finally:
        sh("dpkg", "--purge", PACKAGE, check=False)
        left = [p for p in INSTALLED if os.path.lexists(p)]
        assert not installed() and not left, f"package not removed cleanly: {left}"


@pytest.fixture(scope="module")
def data(cluster):
    for name, blob in FILES.items():
        cluster.put(f"{ROOT}/{name}", blob, maxMB=1)
    return {name: hashlib.sha256(blob).hexdigest() for name, blob in FILES.items()}


@pytest.fixture
def mountpoints():
    made = []

    def make(n=1):
        for _ in range(n):
            made.append(Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "pkg-")))
        return made[-n:]

    yield make
    for mp in made:
        if is_mounted(mp):
            lazy_unmount(mp)
        shutil.rmtree(mp, ignore_errors=True)


def check_files(mp: Path, data):
    for name, digest in data.items():
        assert hashlib.sha256((mp / name).read_bytes()).hexdigest() == digest, f"{mp / name} differs"
    STATS.add(sum(len(b) for b in FILES.values()), files=len(FILES))


def daemon_pids(mp: Path) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                argv = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if str(mp).encode() in argv and b"seaweed-rdma-mount" in argv[0]:
                pids.append(int(d.name))
    return pids


def unmount(mp: Path):
    pids = daemon_pids(mp)
    sh("umount", mp)
    deadline = time.monotonic() + 15
    while any(Path(f"/proc/{p}").exists() for p in pids):
        assert time.monotonic() < deadline, f"daemons {pids} of {mp} still running after umount"
        time.sleep(0.05)


def test_contents(package):
    for p in INSTALLED:
        assert os.path.lexists(p), f"{p} not installed"
    assert os.readlink("/sbin/mount.fuse.seaweed-rdma-mount") == "/usr/bin/seaweed-rdma-mount"
    depends = sh("dpkg-query", "-W", "-f=${Depends}", PACKAGE).stdout
    for dep in ("fuse3", "libfuse3-3", "libucx0", "libgrpc++1.51", "libcurl4"):
        assert dep in depends, f"{dep} not in Depends: {depends}"
    assert "Usage: seaweed-rdma-mount" in sh("seaweed-rdma-mount", "-h").stdout
    assert "SEAWEED-RDMA-MOUNT" in sh("man", "-P", "cat", "seaweed-rdma-mount", check=False).stdout or \
        shutil.which("man") is None
    STATS.notes.append(f"package: Depends: {depends}")


def test_units_verify(package, tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze missing (apt-get install systemd to check the units)")
    sh("systemd-analyze", "verify", "/usr/lib/systemd/system/seaweed-rdma-agent.service")
    sh("systemd-analyze", "verify", "seaweed-rdma-mount@mnt-seaweed.service")
    for unit in ("mnt-seaweed.mount", "mnt-seaweed.automount"):
        shutil.copy(f"/usr/share/doc/seaweed-rdma-mount/examples/{unit}", tmp_path / unit)
    sh("systemd-analyze", "verify", tmp_path / "mnt-seaweed.mount", tmp_path / "mnt-seaweed.automount")


def test_mount_t(package, cluster, data, mountpoints):
    (mp,) = mountpoints()
    t0 = time.monotonic()
    sh("mount", "-t", "fuse.seaweed-rdma-mount", f"{cluster.filer_addr}:{ROOT}", mp, "-o",
       "ro,nosuid,nodev,noatime,_netdev,rdma.enabled=false")
    secs = time.monotonic() - t0
    assert is_mounted(mp), "mount -t returned before the mount was live"
    check_files(mp, data)
    line = next(ln for ln in open("/proc/mounts") if f" {mp} " in ln)
    STATS.notes.append(f"package: mount -t returned in {secs:.2f}s: {line.strip()}")
    assert line.split()[2] == "fuse.seaweed-rdma-mount"
    unmount(mp)


def test_fstab(package, cluster, data, mountpoints, tmp_path):
    mp1, mp2 = mountpoints(2)
    fstab = tmp_path / "fstab"
    fstab.write_text(
        f"{cluster.filer_addr}:{ROOT}  {mp1}  fuse.seaweed-rdma-mount  _netdev,allow_other,rdma.enabled=false  0 0\n"
        f"fuse  {mp2}  fuse.seaweed-rdma-mount  filer={cluster.filer_addr},filer.path={ROOT},_netdev,"
        f"x-systemd.automount,rdma.enabled=false  0 0\n")
    sh("mount", "-T", fstab, "-a")
    assert is_mounted(mp1) and is_mounted(mp2)
    check_files(mp1, data)
    check_files(mp2, data)
    # mount -a again: both are recognised as mounted (source and type as in fstab), nothing happens
    again = sh("mount", "-T", fstab, "-a", "-v", check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(daemon_pids(mp1)) == 1 and len(daemon_pids(mp2)) == 1
    STATS.notes.append(f"package: second mount -a: {' | '.join(again.stdout.split(chr(10))).strip()}")
    unmount(mp1)
    unmount(mp2)

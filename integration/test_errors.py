"""Error handling: bad command lines, unreachable filer, unreadable chunks, signals."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import tempfile
import time

import pytest

from harness import (MOUNT_BIN, STATS, TMP_PREFIX, BytesBlob, Mount, errno_name, free_port,
                     is_mounted, lazy_unmount, random_bytes, read_with_timeout, verify_sequential)

pytestmark = pytest.mark.fault

ROOT = "/errors"


def run_cli(args, timeout=20.0, mountpoint=None):
    """Runs the mount binary to completion; returns (rc, stdout, stderr, seconds). If it mounted
    something anyway, the mount is removed and the test fails."""
    t0 = time.monotonic()
    p = subprocess.Popen([MOUNT_BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        if mountpoint and is_mounted(mountpoint):
            lazy_unmount(mountpoint)
        pytest.fail(f"{args}: still running after {timeout}s\nstdout: {out.decode()[-1000:]}\n"
                    f"stderr: {err.decode()[-2000:]}")
    secs = time.monotonic() - t0
    if mountpoint and is_mounted(mountpoint):
        lazy_unmount(mountpoint)
        pytest.fail(f"{args}: left {mountpoint} mounted")
    return p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), secs


@pytest.fixture
def mountpoint():
    d = tempfile.mkdtemp(prefix=TMP_PREFIX + "errmnt-")
    yield d
    if is_mounted(d):
        lazy_unmount(d)
    os.rmdir(d)


def test_unknown_flag(cluster, mountpoint):
    rc, out, err, secs = run_cli(["-no-such-flag=1", f"-filer={cluster.filer_addr}", mountpoint],
                                 mountpoint=mountpoint)
    assert rc == 2, f"exit code {rc}, expected 2\nstderr: {err}"
    text = (out + err).lower()
    assert "usage" in text and "-filer" in text, f"no usage text:\nstdout: {out}\nstderr: {err}"
    assert "no-such-flag" in err, f"the bad flag is not named on stderr:\n{err}"


def test_no_mountpoint_argument(cluster):
    rc, out, err, secs = run_cli([f"-filer={cluster.filer_addr}"])
    assert rc != 0, "exited 0 without a mountpoint"
    assert err.strip(), "no message on stderr"


def test_unreachable_filer(mountpoint):
    port = free_port()  # nothing listens there (nor on port+10000)
    rc, out, err, secs = run_cli([f"-filer=127.0.0.1:{port}", mountpoint], timeout=30,
                                 mountpoint=mountpoint)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    STATS.notes.append(f"unreachable filer: exit {rc} after {secs:.1f}s, stderr: {lines}")
    assert rc == 1, f"exit code {rc}, expected 1\nstderr: {err}"
    assert secs < 10, f"took {secs:.1f}s, expected < 10s"
    assert len(lines) == 1, f"expected one clear line on stderr, got {len(lines)}:\n{err}"
    assert str(port) in lines[0] or "filer" in lines[0].lower(), lines[0]


def test_missing_mountpoint(cluster, tmp_path):
    mp = tmp_path / "does" / "not" / "exist"
    rc, out, err, secs = run_cli([f"-filer={cluster.filer_addr}", str(mp)], timeout=30)
    assert rc != 0
    assert secs < 10, f"took {secs:.1f}s"
    assert str(mp) in err or "mountpoint" in err.lower() or "no such file" in err.lower(), \
        f"unclear message:\n{err}"


def test_mountpoint_is_a_file(cluster, tmp_path):
    mp = tmp_path / "regular-file"
    mp.write_bytes(b"x")
    rc, out, err, secs = run_cli([f"-filer={cluster.filer_addr}", str(mp)], timeout=30,
                                 mountpoint=str(mp))
    assert rc != 0
    assert err.strip(), "no message on stderr"


# ---------------------------------------------------------------------------------------------
# signals
# ---------------------------------------------------------------------------------------------

def _signal_and_wait(m: Mount, sig: int, timeout: float = 15.0):
    m.proc.send_signal(sig)
    t0 = time.monotonic()
    rc = m.proc.wait(timeout)
    secs = time.monotonic() - t0
    still = is_mounted(m.path)
    log = m.log()
    m.stop()
    return rc, still, secs, log


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_unmounts_and_exits_0(cluster, bad_files, sig):
    m = Mount(cluster, ["-readOnly"], name=f"sig{sig}-mount")
    m.start()
    p = f"{ROOT}/good-1"
    assert m.p(p).read_bytes() == bad_files["good"][p]
    rc, still, secs, log = _signal_and_wait(m, sig)
    assert rc == 0, f"exit code {rc} after {signal.Signals(sig).name} (None = still running)\n{log}"
    assert not still, f"{m.path} still in /proc/mounts after exit"
    STATS.notes.append(f"{signal.Signals(sig).name}: exit {rc} in {secs:.2f}s")


def test_sigterm_with_open_file(cluster, bad_files):
    """A file held open on the mount (a busy mount) does not stop SIGTERM from unmounting."""
    m = Mount(cluster, ["-readOnly"], name="busy-mount")
    m.start()
    p = f"{ROOT}/good-2"
    fd = os.open(m.p(p), os.O_RDONLY)
    try:
        assert os.pread(fd, 10, 0) == bad_files["good"][p][:10]
        rc, still, secs, log = _signal_and_wait(m, signal.SIGTERM)
    finally:
        try:
            os.close(fd)
        except OSError:  # ENOTCONN: the file system is gone under the open file
            pass
    assert rc == 0, f"exit code {rc} (None = still running after 15s)\n{log}"
    assert not still, f"{m.path} still mounted"


# ---------------------------------------------------------------------------------------------
# unreadable chunks
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bad_files(cluster):
    g = cluster.grpc
    ts = time.time_ns()
    good = {}
    for i, n in enumerate((10, 5000, 3 * 1024 * 1024 + 1)):
        data = random_bytes(900 + i, n)
        cluster.put(f"{ROOT}/good-{i}", data, maxMB=1)
        good[f"{ROOT}/good-{i}"] = data
    # chunk on a volume id that does not exist
    g.create_file(f"{ROOT}/bogus-volume", [g.chunk("9999,0123456789abcdef", 0, 100, ts)])
    # chunk with an existing volume but a key that was never written (404 from the volume server)
    real = cluster.upload_needle(random_bytes(950, 4096))
    from harness import format_fid, parse_fid
    vid, key, cookie = parse_fid(real)
    g.create_file(f"{ROOT}/missing-needle", [g.chunk(format_fid(vid, key + 100000, cookie), 0, 100, ts)])
    # first chunk readable, second not
    g.create_file(f"{ROOT}/half-bad", [g.chunk(real, 0, 4096, ts + 1),
                                       g.chunk("9998,0123456789abcdef", 4096, 4096, ts + 2)])
    return {"good": good, "real_first": random_bytes(950, 4096)}


@pytest.fixture(scope="module")
def err_mount(cluster, bad_files):
    with Mount(cluster, ["-readOnly"], name="errors-mount") as m:
        yield m


def test_read_error_gives_eio_and_mount_keeps_serving(cluster, bad_files, err_mount):
    m = err_mount
    report, bad = [], []

    def expect_eio(what, p, off, n):
        t0 = time.monotonic()
        e, msg = read_with_timeout(p, off, n, timeout=90)
        secs = time.monotonic() - t0
        got = errno_name(e) if e > 0 else (f"{len(msg)} bytes read" if e == 0 else msg)
        report.append(f"{what}: {got} after {secs:.1f}s")
        if e != errno.EIO:
            bad.append(f"{what} [{off},+{n}): expected EIO, got {got}")
        if not (m.proc.alive() and is_mounted(m.path)):
            pytest.fail(f"mount died after reading {what}:\n{m.log()}")

    for rel in ("bogus-volume", "missing-needle"):
        p = m.p(f"{ROOT}/{rel}")
        assert os.stat(p).st_size == 100  # metadata is fine
        expect_eio(rel, p, 0, 100)
    # the readable part of a partly broken file still reads; the broken part fails
    p = m.p(f"{ROOT}/half-bad")
    e, data = read_with_timeout(p, 0, 4096, timeout=90)
    if not (e == 0 and data == bad_files["real_first"]):
        bad.append(f"half-bad [0,4096) (good chunk): {errno_name(e) if e > 0 else e} {data!r:.200}")
    expect_eio("half-bad (second chunk)", p, 4096, 4096)
    # other files are still served, and the bad file fails the same way again
    mm = verify_sequential([(m.p(fp), fp, BytesBlob(d)) for fp, d in bad_files["good"].items()], cluster)
    bad += [str(x) for x in mm]
    expect_eio("bogus-volume again", m.p(f"{ROOT}/bogus-volume"), 0, 100)
    assert m.proc.alive() and is_mounted(m.path)
    STATS.notes.append("read errors: " + "; ".join(report))
    assert not bad, "\n".join(bad)

"""Mounting it like a native file system, without installing anything (the .deb test,
test_package.py, does the same through the installed package and mount(8)):

  1. the argv mount.fuse3 gives a fuse.TYPE program (SOURCE MOUNTPOINT -o OPTS), mount.fuse3 itself,
     and the helper mount(8) runs directly (mount.fuse.seaweed-rdma-mount SOURCE DIR -n -o .. -t ..):
     background mode, exit 0 only once /proc/mounts shows the mount, byte-exact reads, standard
     options in /proc/mounts, `umount` ends the daemon
  2. startup failures in background mode: the parent exits non-zero with the child's one line
  3. systemd Type=notify: READY=1 once mounted, STOPPING=1 on the way out (a fake NOTIFY_SOCKET)
  4. weed mount compatibility: every flag of `weed mount -h` is accepted; the argv that starts
     `weed mount` in the test harness starts this mount, which reads byte-exact; -options FILE
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from harness import (MOUNT_BIN, STATS, TMP_PREFIX, WEED_BIN, Mount, free_port, http_request, is_mounted,
                     lazy_unmount, random_bytes)

ROOT = "/native"
FILES = {"small.txt": b"hello native mount\n", "three-chunks.bin": random_bytes(1101, 3 * (1 << 20) + 4321),
         "sub/inner.bin": random_bytes(1102, 70000)}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def data(cluster):
    for name, blob in FILES.items():
        cluster.put(f"{ROOT}/{name}", blob, maxMB=1)
    return {name: sha(blob) for name, blob in FILES.items()}


def mount_entry(path) -> tuple[str, str, list[str]] | None:
    """(source, fstype, options) of the mount on path from /proc/mounts."""
    with open("/proc/mounts") as f:
        for line in f:
            src, mp, fstype, opts = line.split()[:4]
            if mp == str(path):
                return src, fstype, opts.split(",")
    return None


def mount_pids(path) -> list[int]:
    """Processes whose command line names path (the daemon serving it)."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(path).encode() in argv and any(b"seaweed-rdma-mount" in a for a in argv[:1]):
            pids.append(int(d.name))
    return pids


def wait_until(what: str, cond, timeout: float = 15.0, diag=lambda: ""):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout}s {diag()}")
        time.sleep(0.05)


def stop_foreground(p: subprocess.Popen, timeout: float = 30.0, signal_first: bool = True) -> str:
    """SIGTERM to a foreground mount, its output once it exited; a mount that does not exit in
    time fails the test with every thread's stack (gdb) so the hang can be told apart."""
    if signal_first and p.poll() is None:
        p.send_signal(signal.SIGTERM)
    try:
        out, _ = p.communicate(timeout=timeout)
        return out or ""
    except subprocess.TimeoutExpired:
        stacks = ""
        if shutil.which("gdb"):
            r = subprocess.run(["gdb", "-p", str(p.pid), "-batch", "-ex", "thread apply all bt 30"],
                               capture_output=True, text=True, timeout=120)
            stacks = r.stdout[-20000:]
        p.kill()
        out, _ = p.communicate()
        pytest.fail(f"mount {p.args} still running {timeout}s after SIGTERM or unmount\n{out[-3000:]}\n{stacks}")


def check_files(mp: Path, data: dict[str, str]):
    for name, digest in data.items():
        assert sha((mp / name).read_bytes()) == digest, f"{name}: content differs"
    STATS.add(sum(len(b) for b in FILES.values()), files=len(FILES))


@pytest.fixture
def mp():
    d = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "native-"))
    yield d
    pids = mount_pids(d)
    if is_mounted(d):
        lazy_unmount(d)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    shutil.rmtree(d, ignore_errors=True)


def run(argv, timeout=60.0, env=None) -> subprocess.CompletedProcess:
    """Runs a command that must return by itself (a background mount's parent); its stdout and
    stderr are pipes, so a daemon that kept them open would hang this call."""
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=env)


def unmount_and_wait_for_exit(mp: Path, command=("umount",)):
    pids = mount_pids(mp)
    assert len(pids) == 1, f"expected one daemon serving {mp}, found {pids}"
    r = run([*command, mp])
    assert r.returncode == 0, r.stderr
    wait_until(f"daemon {pids[0]} exits after {' '.join(command)}", lambda: not Path(f"/proc/{pids[0]}").exists())
    assert not is_mounted(mp)


# --------------------------------------------------------------------------------------------
# 1. the three ways mount tools start it
# --------------------------------------------------------------------------------------------


def test_mount_fuse3_argv_backgrounds_once_mounted(cluster, data, mp):
    """What mount.fuse3 runs for `mount -t fuse.seaweed-rdma-mount SOURCE DIR -o OPTS`."""
    t0 = time.monotonic()
    r = run([MOUNT_BIN, f"{cluster.filer_addr}:{ROOT}", mp, "-o",
             "ro,noatime,noexec,nosuid,nodev,allow_other,default_permissions,_netdev,nofail,auto,"
             "x-systemd.automount,x-systemd.idle-timeout=60,defaults,rdma.enabled=false"])
    secs = time.monotonic() - t0
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr}"
    # Readiness: the parent returned only once the mount was live.
    entry = mount_entry(mp)
    assert entry, f"exit 0 but {mp} is not in /proc/mounts"
    src, fstype, opts = entry
    STATS.notes.append(f"native: background mount returned after {secs:.2f}s, mounted; /proc/mounts: "
                       f"{src} {fstype} {','.join(opts)}")
    assert src == f"{cluster.filer_addr}:{ROOT}"
    assert fstype == "fuse.seaweed-rdma-mount"
    for o in ("ro", "noatime", "noexec", "nosuid", "nodev", "allow_other", "default_permissions"):
        assert o in opts, f"{o} missing from {opts}"
    check_files(mp, data)
    unmount_and_wait_for_exit(mp)


def test_mount_fuse3_itself(cluster, data, mp):
    """mount.fuse3 as mount(8) runs it for type fuse.seaweed-rdma-mount: it finds the program in
    PATH and adds dev,suid unless told nodev,nosuid."""
    mount_fuse3 = shutil.which("mount.fuse3") or "/sbin/mount.fuse3"
    env = dict(os.environ, PATH=f"{Path(MOUNT_BIN).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    r = run([mount_fuse3, f"{cluster.filer_addr}:{ROOT}", mp, "-t", "fuse.seaweed-rdma-mount", "-o",
             "ro,allow_other,_netdev,rdma.enabled=false"], env=env)
    assert r.returncode == 0, r.stderr
    assert mount_entry(mp)[1] == "fuse.seaweed-rdma-mount"
    check_files(mp, data)
    unmount_and_wait_for_exit(mp, ("fusermount3", "-u"))


def test_helper_link_weed_style_source(cluster, data, mp, tmp_path):
    """/sbin/mount.fuse.seaweed-rdma-mount as mount(8) calls it, with weed's fstab style:
    `fuse DIR fuse.seaweed-rdma-mount filer=...,filer.path=...`."""
    link = tmp_path / "mount.fuse.seaweed-rdma-mount"
    link.symlink_to(MOUNT_BIN)
    r = run([link, "fuse", mp, "-n", "-s", "-o",
             f"filer={cluster.filer_addr},filer.path={ROOT},rdma.enabled=false,noexec,allowOthers=false",
             "-t", "fuse.seaweed-rdma-mount"])
    assert r.returncode == 0, r.stderr
    src, fstype, opts = mount_entry(mp)
    assert (src, fstype) == ("fuse", "fuse.seaweed-rdma-mount")
    assert "noexec" in opts and "allow_other" not in opts
    check_files(mp, data)
    # mount -f: checks the arguments, mounts nothing
    other = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "native-fake-"))
    try:
        r = run([link, f"{cluster.filer_addr}:{ROOT}", other, "-f", "-o", "ro"])
        assert r.returncode == 0 and not is_mounted(other), r.stderr
    finally:
        other.rmdir()
    unmount_and_wait_for_exit(mp)


def test_standard_options_and_weed_defaults(cluster, data, mp):
    """rw asks for more than a read-only mount gives: mounted ro with one warning; without
    -nonempty a non-empty mountpoint is mounted over as weed mount 4.48 does, with a warning;
    the root's mode is 0777 &~ -umask (weed mount's rule)."""
    (mp / "hidden-by-the-mount").write_bytes(b"x")
    m = Mount(cluster, ["-filer.path=" + ROOT, "-o", "rw,allow_root,noatime", "-umask=027"],
              name="native-opts")
    try:
        m.start()
        src, fstype, opts = mount_entry(m.path)
        assert "ro" in opts and "noatime" in opts, opts
        check_files(m.path, data)
        assert (os.stat(m.path).st_mode & 0o7777) == 0o750, oct(os.stat(m.path).st_mode)
        log = m.log()
        assert "mount option rw: this mount is read-only" in log, log
    finally:
        m.stop()
    # the mountpoint of this test: not empty, mounted over, one warning; silent with -nonempty
    for extra, warned in (([], True), (["-nonempty"], False)):
        r = subprocess.Popen([MOUNT_BIN, f"-filer={cluster.filer_addr}", f"-filer.path={ROOT}",
                              "-rdma.enabled=false", *extra, mp], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        try:
            wait_until("mounted over a non-empty directory", lambda: is_mounted(mp))
            check_files(mp, data)
        finally:
            out = stop_foreground(r)
        assert r.returncode == 0, out
        assert ("is not empty" in out) == warned, out
        assert (mp / "hidden-by-the-mount").exists()


@pytest.mark.parametrize("command", [("umount",), ("fusermount3", "-u")])
def test_foreground_ends_cleanly_when_unmounted(cluster, data, mp, command):
    """By hand the daemon stays in the foreground; an unmount from outside ends it with exit 0."""
    p = subprocess.Popen([MOUNT_BIN, f"-filer={cluster.filer_addr}", f"-filer.path={ROOT}", "-rdma.enabled=false",
                          mp], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    try:
        wait_until("mounted in the foreground", lambda: is_mounted(mp) or p.poll() is not None)
        assert p.poll() is None, p.communicate(timeout=5)[0]
        check_files(mp, data)
        assert run([*command, mp]).returncode == 0
        out = stop_foreground(p, signal_first=False)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 0, out
    assert "unmounted" in out, out


def top_mount_type(path) -> str:
    """fstype of the topmost mount on path ("" when none)."""
    top = ""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == str(path):
                top = fields[fields.index("-") + 1]
    return top


def test_mount_over_an_autofs_trigger(cluster, data, mp):
    """What x-systemd.automount does: an autofs trigger sits on the mountpoint and mount(8) runs the
    helper on first access. The mount must go on top without touching the trigger (a listing
    would wait for the very mount being made): this process plays the automount daemon and no
    request may reach it."""
    r, w = os.pipe()
    os.set_blocking(r, False)
    res = subprocess.run(["mount", "-t", "autofs", "-o",
                          f"fd={w},pgrp={os.getpgid(0)},minproto=5,maxproto=5,direct", "seaweed-test-trigger",
                          str(mp)], pass_fds=(w,), capture_output=True, text=True, timeout=30)
    os.close(w)
    if res.returncode != 0:
        os.close(r)
        pytest.skip(f"cannot mount autofs here: {res.stderr.strip()}")
    try:
        assert top_mount_type(mp) == "autofs"
        t0 = time.monotonic()
        rr = run([MOUNT_BIN, f"{cluster.filer_addr}:{ROOT}", mp, "-o", "rdma.enabled=false"], timeout=30)
        assert rr.returncode == 0, rr.stderr
        assert top_mount_type(mp) == "fuse.seaweed-rdma-mount"
        STATS.notes.append(f"native: mounted over an autofs trigger in {time.monotonic() - t0:.2f}s")
        check_files(mp, data)
        try:
            request = os.read(r, 4096)
        except BlockingIOError:
            request = b""
        assert request == b"", f"the mount touched the autofs trigger: {len(request)} bytes of requests"
        pids = mount_pids(mp)
        assert run(["umount", mp]).returncode == 0
        wait_until("the daemon exits after umount", lambda: not any(Path(f"/proc/{p}").exists() for p in pids))
        assert top_mount_type(mp) == "autofs"
    finally:
        if top_mount_type(mp) == "fuse.seaweed-rdma-mount":
            subprocess.run(["fusermount3", "-u", "-z", str(mp)], capture_output=True)
        subprocess.run(["umount", "-l", str(mp)], capture_output=True)
        os.close(r)
    assert top_mount_type(mp) == ""


# --------------------------------------------------------------------------------------------
# 2. startup failures in background mode
# --------------------------------------------------------------------------------------------


def test_background_failures_report_one_line(cluster, data, mp, tmp_path):
    port = free_port()
    cases = [
        ("unreachable filer", [f"127.0.0.1:{port}:/", mp], 1, str(port)),
        ("missing filer path", [f"{cluster.filer_addr}:/no/such/dir", mp], 1, "/no/such/dir"),
        ("missing mountpoint", [f"{cluster.filer_addr}:{ROOT}", tmp_path / "nope"], 1, "nope"),
        ("bad option", [f"{cluster.filer_addr}:{ROOT}", mp, "-o", "ro,nosuchoption"], 2, "nosuchoption"),
        ("bad source", [":/x", mp], 2, "names no filer"),
    ]
    for what, args, code, needle in cases:
        t0 = time.monotonic()
        r = run([MOUNT_BIN, *args, *(["-o", "rdma.enabled=false"] if code == 1 else [])], timeout=30)
        secs = time.monotonic() - t0
        assert r.returncode == code, f"{what}: exit {r.returncode}, expected {code}\n{r.stderr}"
        assert needle in r.stderr, f"{what}: {needle!r} not in stderr:\n{r.stderr}"
        if code == 1:
            lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
            assert len(lines) == 1, f"{what}: expected the child's one line, got:\n{r.stderr}"
            assert lines[0].startswith("seaweed-rdma-mount: "), lines[0]
            STATS.notes.append(f"native: background {what}: exit {r.returncode} after {secs:.1f}s: {lines[0]}")
        assert secs < 15, f"{what}: took {secs:.1f}s"
        assert not is_mounted(mp) and not mount_pids(mp), f"{what}: left a mount or a process"


# --------------------------------------------------------------------------------------------
# 3. systemd Type=notify
# --------------------------------------------------------------------------------------------


def test_sd_notify_ready_and_stopping(cluster, data, mp, tmp_path):
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(30)
    env = dict(os.environ, NOTIFY_SOCKET=str(sock_path))
    # The form systemd's unit uses: foreground (NOTIFY_SOCKET keeps a SOURCE MOUNTPOINT call in the
    # foreground too, so the main process is the one that notifies).
    p = subprocess.Popen([MOUNT_BIN, f"{cluster.filer_addr}:{ROOT}", mp, "-o", "rdma.enabled=false"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                         text=True)
    try:
        msg = sock.recv(4096).decode()
        assert msg.startswith("READY=1"), msg
        assert is_mounted(mp), "READY=1 before the mount was live"
        assert p.poll() is None, "the notifying process is not the one that stays"
        check_files(mp, data)
        p.send_signal(signal.SIGTERM)
        msg = sock.recv(4096).decode()
        assert msg == "STOPPING=1", msg
        out = stop_foreground(p, signal_first=False)
        assert p.returncode == 0, out
        assert not is_mounted(mp)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
        sock.close()


# --------------------------------------------------------------------------------------------
# 4. weed mount compatibility
# --------------------------------------------------------------------------------------------


def weed_mount_flags() -> dict[str, str]:
    """flag -> kind ('bool', 'int', 'string', 'duration') from `weed mount -h`."""
    r = subprocess.run([WEED_BIN, "mount", "-h"], capture_output=True, text=True, timeout=60)
    flags = {}
    for line in (r.stdout + r.stderr).splitlines():
        m = re.match(r"^  -(\S+)(?: (\w+))?$", line)
        if m:
            flags[m.group(1)] = m.group(2) or "bool"
    return flags


def test_every_weed_mount_flag_is_accepted(cluster, tmp_path):
    flags = weed_mount_flags()
    assert len(flags) > 50, f"could not read weed mount's flags: {flags}"
    values = {"umask": "022", "volumeServerAccess": "direct", "map.uid": "1000:1000", "map.gid": "1000:1000",
              "filer": cluster.filer_addr, "filer.path": ROOT, "dir": str(tmp_path), "options": "",
              "cacheDir": str(tmp_path / "cache")}
    argv = []
    for name, kind in sorted(flags.items()):
        if kind == "bool":
            argv.append(f"-{name}")
        elif name in values:
            argv.append(f"-{name}={values[name]}")
        elif kind == "int":
            argv.append(f"-{name}=1")
        elif kind == "duration":
            argv.append(f"-{name}=6s")
        else:
            argv.append(f"-{name}=x")
    argv = [a for a in argv if a not in ("-readOnly", "-options=")]
    r = run([MOUNT_BIN, *argv, "-version"])
    assert r.returncode == 0, f"exit {r.returncode}:\n{r.stderr[:3000]}"
    STATS.notes.append(f"native: all {len(flags)} flags of `weed mount -h` accepted")


def test_weed_mount_argv_of_the_harness(cluster, data, tmp_path):
    """The argv test_coherence.py and bench/run.py start `weed mount` with (everything after
    `weed mount`), given to this mount instead: it mounts and reads byte-exact."""
    mp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "weedargv-"))
    cache = tmp_path / "weedmount-cache"
    cache.mkdir()
    argv = [MOUNT_BIN, f"-filer={cluster.filer_addr}", f"-dir={mp}", f"-filer.path={ROOT}", f"-cacheDir={cache}",
            f"-localSocket={tmp_path / 'weedmount.sock'}", "-readOnly"]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         text=True, env=dict(os.environ, SEAWEED_TEST="1"))
    try:
        wait_until("weed-style argv mounted", lambda: is_mounted(mp) or p.poll() is not None)
        assert is_mounted(mp), p.communicate(timeout=5)[0]
        check_files(mp, data)
    finally:
        out = stop_foreground(p)
        if is_mounted(mp):
            lazy_unmount(mp)
        mp.rmdir()
    assert p.returncode == 0, out
    warnings = [ln for ln in out.splitlines() if "ignoring weed mount flags" in ln]
    assert len(warnings) == 1 and "-localSocket" in warnings[0], out


def test_options_file_and_dir_auto_create(cluster, data, tmp_path):
    """weed's -options FILE (what the systemd unit uses) and -dirAutoCreate."""
    mp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "optfile-")) / "created"
    conf = tmp_path / "mount.conf"
    conf.write_text(f"# as /etc/seaweed-rdma-mount/INSTANCE.conf\nfiler={cluster.filer_addr}\n"
                    f"filer.path={ROOT}\nrdma.enabled=false\ncollection=ignored\nnoSuchFlag=1\n")
    p = subprocess.Popen([MOUNT_BIN, f"-options={conf}", "-dirAutoCreate", mp], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    try:
        wait_until("mounted from an options file", lambda: is_mounted(mp) or p.poll() is not None)
        assert is_mounted(mp), p.communicate(timeout=5)[0]
        check_files(mp, data)
    finally:
        out = stop_foreground(p)
        if is_mounted(mp):
            lazy_unmount(mp)
        shutil.rmtree(mp.parent, ignore_errors=True)
    assert p.returncode == 0, out
    assert "-collection" in out, out


# --------------------------------------------------------------------------------------------
# 5. several filers (weed mount's -filer=a,b)
# --------------------------------------------------------------------------------------------


def test_filer_failover(cluster, data, tmp_path):
    """-filer=B,A with B a second filer of the same cluster: reads and the metadata stream go on
    through A after B is killed; a first filer that is down at start is skipped."""
    port = free_port()
    store = tmp_path / "filer2"
    store.mkdir()
    fb = cluster.spawn("filer2", [WEED_BIN, "filer", f"-master={cluster.master_addr}", "-ip=127.0.0.1",
                                  "-ip.bind=127.0.0.1", f"-port={port}", f"-port.grpc={port + 10000}",
                                  f"-defaultStoreDir={store}", f"-localSocket={tmp_path / 'filer2.sock'}"])
    b_addr = f"127.0.0.1:{port}"

    def b_serves():
        try:
            return http_request(f"http://{b_addr}{ROOT}/small.txt", timeout=5).body == FILES["small.txt"]
        except OSError:
            return False

    wait_until("the second filer serves the files written through the first", b_serves, 60, fb.tail)
    mp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "failover-"))
    p = subprocess.Popen([MOUNT_BIN, f"-filer={b_addr},{cluster.filer_addr}", f"-filer.path={ROOT}",
                          "-rdma.enabled=false", mp], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, text=True)
    try:
        wait_until("mounted through the second filer", lambda: is_mounted(mp) or p.poll() is not None)
        assert is_mounted(mp), p.communicate(timeout=5)[0]
        check_files(mp, data)
        fb.stop(signal.SIGKILL)
        t0 = time.monotonic()
        cluster.put(f"{ROOT}/after-failover.txt", b"written after filer B died\n")
        target = mp / "after-failover.txt"
        wait_until("a file written through filer A after B died shows up",
                   lambda: target.exists() and target.read_bytes() == b"written after filer B died\n", 30)
        STATS.notes.append(f"native: failover: new file visible {time.monotonic() - t0:.2f}s after filer B was killed")
        check_files(mp, data)
    finally:
        out = stop_foreground(p)
        if is_mounted(mp):
            lazy_unmount(mp)
        shutil.rmtree(mp, ignore_errors=True)
    assert p.returncode == 0, out
    assert f"using filer {cluster.filer_addr}" in out, out

    # A first filer that does not answer at start is skipped with one warning.
    dead = f"127.0.0.1:{free_port()}"
    mp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "failover-start-"))
    p = subprocess.Popen([MOUNT_BIN, f"-filer={dead},{cluster.filer_addr}", f"-filer.path={ROOT}",
                          "-rdma.enabled=false", mp], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, text=True)
    try:
        wait_until("mounted past a dead first filer", lambda: is_mounted(mp) or p.poll() is not None)
        assert is_mounted(mp), p.communicate(timeout=5)[0]
        check_files(mp, data)
    finally:
        out = stop_foreground(p)
        if is_mounted(mp):
            lazy_unmount(mp)
        shutil.rmtree(mp, ignore_errors=True)
    assert p.returncode == 0 and f"using filer {cluster.filer_addr}" in out, out


# --------------------------------------------------------------------------------------------
# 6. -volumeServerAccess
# --------------------------------------------------------------------------------------------


def metric(port: int, name: str, labels: str = "") -> float:
    body = http_request(f"http://127.0.0.1:{port}/metrics", timeout=10).body.decode()
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name) and (not labels or labels in line):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.parametrize("access", ["filerProxy", "publicUrl", "direct"])
def test_volume_server_access(cluster, data, access):
    """filerProxy reads every chunk through http://FILER/?proxyChunkId=FID: byte-exact (whole and
    ranged reads), and the mount never asks where volumes are (no LookupVolume)."""
    port = free_port()
    with Mount(cluster, [f"-filer.path={ROOT}", f"-volumeServerAccess={access}", f"-metricsPort={port}"],
               name=f"native-{access}") as m:
        check_files(m.path, data)
        blob = FILES["three-chunks.bin"]
        with open(m.path / "three-chunks.bin", "rb") as f:
            for off, n in ((0, 1), ((1 << 20) - 5, 10), (2 * (1 << 20) + 17, 4096), (len(blob) - 3, 100)):
                f.seek(off)
                assert f.read(n) == blob[off:off + n], f"pread at {off}"
        lookups = metric(port, "seaweed_mount_filer_rpcs_total", 'rpc="LookupVolume"')
        http_bytes = metric(port, "seaweed_mount_read_bytes_total", 'transport="http"')
    STATS.notes.append(f"native: -volumeServerAccess={access}: LookupVolume calls {lookups:.0f}, "
                       f"HTTP bytes {http_bytes:.0f}")
    assert http_bytes > 0
    if access == "filerProxy":
        assert lookups == 0, "filerProxy looked volumes up"
    else:
        assert lookups > 0


# --------------------------------------------------------------------------------------------
# 7. -cacheDir: chunks on local disk across remounts
# --------------------------------------------------------------------------------------------


def test_cache_dir_across_remounts(cluster, data, tmp_path):
    """First mount fills the disk tier; a remount reads every byte from it (no HTTP bytes); a
    corrupted entry is caught by its CRC, dropped and fetched again, byte-exact."""
    cache = tmp_path / "chunk-cache"
    args = [f"-filer.path={ROOT}", f"-cacheDir={cache}", "-cacheDirSizeMB=64"]
    port = free_port()
    with Mount(cluster, args + [f"-metricsPort={port}"], name="native-cache1") as m:
        check_files(m.path, data)
        first_http = metric(port, "seaweed_mount_read_bytes_total", 'transport="http"')
    entries = [p for p in cache.rglob("*") if p.is_file()]
    assert entries, f"nothing cached under {cache}"
    cached_bytes = sum(p.stat().st_size for p in entries)

    port = free_port()
    with Mount(cluster, args + [f"-metricsPort={port}"], name="native-cache2") as m:
        assert "kept from before" in m.log() and f"{len(entries)} chunks" in m.log(), m.log()
        check_files(m.path, data)
        second_http = metric(port, "seaweed_mount_read_bytes_total", 'transport="http"')
        hits = metric(port, "seaweed_mount_disk_cache_hits_total")
    STATS.notes.append(f"native: -cacheDir: {len(entries)} entries / {cached_bytes} bytes on disk; HTTP bytes "
                       f"{first_http:.0f} on the first mount, {second_http:.0f} after the remount "
                       f"({hits:.0f} disk hits)")
    assert second_http == 0, f"the remount read {second_http} bytes over HTTP"
    assert hits > 0

    # Flip one byte inside the biggest entry's data: caught, dropped, refetched.
    victim = max(entries, key=lambda p: p.stat().st_size)
    with open(victim, "r+b") as f:
        f.seek(24 + 1000)
        b = f.read(1)
        f.seek(24 + 1000)
        f.write(bytes([b[0] ^ 0x40]))
    port = free_port()
    with Mount(cluster, args + [f"-metricsPort={port}"], name="native-cache3") as m:
        check_files(m.path, data)
        corrupt = metric(port, "seaweed_mount_disk_cache_corrupt_total")
        third_http = metric(port, "seaweed_mount_read_bytes_total", 'transport="http"')
    STATS.notes.append(f"native: -cacheDir: corrupted entry caught ({corrupt:.0f}), {third_http:.0f} bytes refetched")
    assert corrupt == 1 and third_http > 0

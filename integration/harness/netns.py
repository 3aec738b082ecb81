"""Network namespaces as hosts on one machine: a private subnet that overlaps nothing on the host,
veth links, a bridge ("switch") in a namespace of its own, link faults, processes and sockets
inside a namespace, and the teardown of all of it (also of what a killed earlier run left).

Traffic stays on this machine: every address is in a subnet picked here, on links created here.

  lan = Lan("topo")                    # the switch namespace + a root-namespace port on the bridge
  lan.up()
  h = lan.add_host("vs0")              # namespace <prefix>-vs0, eth0 = 172.31.x.N/24 on the bridge
  Proc(..., argv=[*h.prefix(), "weed", ...])     # runs inside it, with its own /sys
  lan.set_link("vs0", up=False)        # the cable pulled (switch side)
  lan.down()                           # everything gone

Processes inside a namespace get their own mount namespace for a fresh sysfs (UCX's tcp transport
lists its devices in /sys/class/net, which shows the namespace that mounted sysfs). A FUSE mount
made by such a process is still seen by the test runner when its mountpoint lies under
Lan.shared_dir(): a bind mount with shared propagation, so mounts made below it in the child
mount namespace propagate back (and unmounts both ways).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import http.client
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from .env import TMP_PREFIX, HarnessError
from .net import Response
from .procs import is_mounted, lazy_unmount, register_cleanup, shielded, unregister_cleanup

# Namespaces are named <NS_PREFIX><pid>-<name>, root-side links <LINK_PREFIX><pid><suffix>: the pid
# lets sweep_stale_netns() remove what a run that died left behind.
NS_PREFIX = "swn"
LINK_PREFIX = "swn"
# Private subnets tried in order; the first that overlaps no address or route of the root
# namespace is used.
CANDIDATE_NETS = ["172.31.240.0/24", "172.31.241.0/24", "172.31.242.0/24", "10.255.240.0/24",
                  "172.31.255.0/30", "172.31.254.0/30", "172.31.253.0/30", "10.255.254.0/30"]

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_ns_lock = threading.Lock()


class NetnsUnavailable(HarnessError):
    """This machine cannot create namespaces/links (not root, no iproute2, no veth...)."""


def ip(*args, check: bool = True, ns: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    """Runs `ip ARGS` (inside namespace ns when given: `ip -n NS ARGS`)."""
    cmd = ["ip"] + (["-n", ns] if ns else []) + [str(a) for a in args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode:
        raise HarnessError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _kill_ns_pids(ns: str) -> None:
    r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=30)
    for pid in r.stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


def sweep_stale_netns(prefixes=(NS_PREFIX, "swrdma")) -> None:
    """Namespaces and root links left by an earlier run (any prefix here) whose process is gone;
    processes still inside them are killed first."""
    r = ip("netns", "list", check=False)
    names = [line.split()[0] for line in r.stdout.splitlines() if line.split()]
    for name in names:
        for pre in prefixes:
            m = re.fullmatch(re.escape(pre) + r"(\d+)(?:-.*)?", name)
            if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
                _kill_ns_pids(name)
                ip("netns", "del", name, check=False)
    links = ip("-o", "link", "show", check=False).stdout
    for m in re.finditer(r"^\d+: (" + "|".join(map(re.escape, prefixes)) + r")(\d+)(\w*)[@:]", links, re.M):
        pid = int(m.group(2))
        if pid != os.getpid() and not _pid_alive(pid):
            ip("link", "del", m.group(1) + m.group(2) + m.group(3), check=False)
    tmp = Path(tempfile.gettempdir())
    for d in tmp.glob("swinteg-*-netns-shared*"):
        with contextlib.suppress(ValueError, IndexError):
            if not _pid_alive(int(d.name.split("-")[1])):
                _release_shared_dir(d)


@contextlib.contextmanager
def _subnet_lock():
    with open(Path(tempfile.gettempdir()) / "seaweed-netns-subnet.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def pick_subnet(prefixlen: int, candidates=CANDIDATE_NETS) -> ipaddress.IPv4Network:
    """A subnet of that size (from `candidates`) that overlaps no address or route of the root
    namespace."""
    used = []
    for line in ip("-4", "-o", "addr", "show").stdout.splitlines():
        m = re.search(r"inet (\S+)", line)
        if m:
            used.append(ipaddress.ip_interface(m.group(1)).network)
    for line in ip("-4", "route", "show", "table", "all").stdout.splitlines():
        tok = line.split()
        if tok and tok[0] in ("broadcast", "local", "unreachable", "blackhole") and len(tok) > 1:
            tok = tok[1:]
        if tok and tok[0] != "default":
            with contextlib.suppress(ValueError):
                used.append(ipaddress.ip_network(tok[0], strict=False))
    for c in candidates:
        n = ipaddress.ip_network(c)
        if n.prefixlen == prefixlen and not any(n.overlaps(u) for u in used):
            return n
    raise HarnessError(f"no free /{prefixlen} among {candidates}")


def require_netns() -> None:
    """Raises NetnsUnavailable with the reason when namespaces and veths cannot be made here."""
    if not shutil.which("ip"):
        raise NetnsUnavailable("no `ip` (iproute2) to create network namespaces")
    if os.geteuid() != 0:
        raise NetnsUnavailable("network namespaces need root")
    probe = f"{NS_PREFIX}{os.getpid()}-probe"
    r = ip("netns", "add", probe, check=False)
    if r.returncode:
        raise NetnsUnavailable(f"cannot create a network namespace (`ip netns add`): {r.stderr.strip()}")
    try:
        r = ip("link", "add", "probe0", "type", "veth", "peer", "name", "probe1", ns=probe, check=False)
        if r.returncode:
            raise NetnsUnavailable(f"cannot create a veth pair: {r.stderr.strip()}")
        r = ip("link", "add", "br0", "type", "bridge", ns=probe, check=False)
        if r.returncode:
            raise NetnsUnavailable(f"cannot create a bridge: {r.stderr.strip()}")
    finally:
        ip("netns", "del", probe, check=False)


# --------------------------------------------------------------------------------------------
# sockets inside a namespace
# --------------------------------------------------------------------------------------------

@contextlib.contextmanager
def _in_netns(name: str):
    """The calling thread inside network namespace `name` (setns is per thread); back after."""
    with _ns_lock:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{name}", os.O_RDONLY)
        try:
            if _libc.setns(target, _CLONE_NEWNET) != 0:
                e = ctypes.get_errno()
                raise OSError(e, f"setns({name}): {os.strerror(e)}")
            try:
                yield
            finally:
                if _libc.setns(own, _CLONE_NEWNET) != 0:  # pragma: no cover - would be fatal
                    e = ctypes.get_errno()
                    raise OSError(e, f"setns back to the root namespace: {os.strerror(e)}")
        finally:
            os.close(own)
            os.close(target)


def ns_socket(name: str, family=socket.AF_INET, type_=socket.SOCK_STREAM) -> socket.socket:
    """A socket that lives in namespace `name` (a socket keeps the namespace it was made in)."""
    with _in_netns(name):
        return socket.socket(family, type_)


class _NsHTTPConnection(http.client.HTTPConnection):
    def __init__(self, ns: str, host: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._ns = ns

    def connect(self):
        s = ns_socket(self._ns)
        s.settimeout(self.timeout)
        try:
            s.connect((self.host, self.port))
        except BaseException:
            s.close()
            raise
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = s


def ns_http_request(ns: str, url: str, method: str = "GET", timeout: float = 30.0) -> Response:
    """An HTTP request made from inside namespace `ns` (e.g. to a process's 127.0.0.1 there)."""
    u = urllib.parse.urlsplit(url)
    conn = _NsHTTPConnection(ns, u.hostname, u.port or 80, timeout)
    try:
        conn.request(method, (u.path or "/") + ("?" + u.query if u.query else ""))
        r = conn.getresponse()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------
# shared mount propagation (FUSE mounts made inside a host's mount namespace)
# --------------------------------------------------------------------------------------------

def _make_shared_dir() -> Path:
    d = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "netns-shared-"))
    subprocess.run(["mount", "--bind", str(d), str(d)], check=True, capture_output=True, timeout=30)
    subprocess.run(["mount", "--make-shared", str(d)], check=True, capture_output=True, timeout=30)
    return d


def _release_shared_dir(d: Path) -> None:
    if not d.exists():
        return
    for mp in sorted((p for p in _mounts_under(d)), key=len, reverse=True):
        lazy_unmount(mp)
    for _ in range(3):
        if not is_mounted(d):
            break
        subprocess.run(["umount", "-l", str(d)], capture_output=True, timeout=30)
    if not is_mounted(d):
        shutil.rmtree(d, ignore_errors=True)


def _mounts_under(d: Path) -> list[str]:
    from .procs import mounted_points
    base = str(d).rstrip("/") + "/"
    return [mp for mp in mounted_points() if mp.startswith(base)]


# --------------------------------------------------------------------------------------------
# hosts and the switch
# --------------------------------------------------------------------------------------------

class Host:
    """One network namespace with one interface (`ifname`) on the LAN."""

    def __init__(self, lan: "Lan", name: str, ns: str, address: str, ifname: str, port: str):
        self.lan = lan
        self.name = name        # role, e.g. "vs0"
        self.ns = ns            # namespace name
        self.ip = address       # its address on the LAN
        self.ifname = ifname    # interface inside the namespace (UCX_NET_DEVICES)
        self.port = port        # its port on the bridge (in the switch namespace)

    def prefix(self, own_sysfs: bool = True) -> list[str]:
        """argv prefix that runs a command inside this host. own_sysfs: in a mount namespace of
        its own with a sysfs of this network namespace (mounts under Lan.shared_dir() still
        propagate to the test runner); False: only the network namespace."""
        p = ["nsenter", f"--net=/run/netns/{self.ns}", "--"]
        if own_sysfs:
            p += ["unshare", "--mount", "--propagation", "unchanged", "--",
                  "sh", "-c", 'mount -t sysfs sysfs /sys && exec "$@"', "sh"]
        return p

    def run(self, argv: list, check: bool = True, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
        r = subprocess.run([*self.prefix(own_sysfs=False), *map(str, argv)], capture_output=True,
                           timeout=timeout, **kw)
        if check and r.returncode:
            raise HarnessError(f"in {self.ns}: {argv!r} exited {r.returncode}: "
                               f"{r.stderr.decode(errors='replace')[-500:]}")
        return r

    def http_request(self, url: str, timeout: float = 30.0) -> Response:
        return ns_http_request(self.ns, url, timeout=timeout)

    def ucx_env(self) -> dict:
        """UCX pinned to tcp on this host's LAN interface (otherwise UCX would see one machine and
        use shared memory between the namespaces, bypassing the links)."""
        return {"UCX_TLS": "tcp", "UCX_NET_DEVICES": self.ifname}

    def link_stats(self) -> dict:
        """rx/tx bytes and packets of the host's interface, as the host counts them."""
        r = ip("-j", "-s", "link", "show", "dev", self.ifname, ns=self.ns)
        st = json.loads(r.stdout)[0]["stats64"]
        return {"rx_bytes": st["rx"]["bytes"], "tx_bytes": st["tx"]["bytes"],
                "rx_packets": st["rx"]["packets"], "tx_packets": st["tx"]["packets"],
                "rx_dropped": st["rx"]["dropped"], "tx_dropped": st["tx"]["dropped"]}

    def __repr__(self):
        return f"Host({self.name} {self.ip} in {self.ns})"


class Lan:
    """A bridge in a namespace of its own (the switch), a port on it for the root namespace (so the
    test runner reaches every host directly), and hosts with one veth each to the bridge.

    Names: namespaces <NS_PREFIX><pid>-<tag>-<host>; the root namespace's port <LINK_PREFIX><pid><k>
    (interface names are at most 15 characters)."""

    _count = 0

    def __init__(self, tag: str = "lan", prefixlen: int = 24):
        Lan._count += 1
        pid = os.getpid()
        self.tag = tag
        self.prefixlen = prefixlen
        self.switch_ns = f"{NS_PREFIX}{pid}-{tag}-sw"
        self.root_if = f"{LINK_PREFIX}{pid}{'abcdefghij'[Lan._count % 10]}"
        self.net: ipaddress.IPv4Network | None = None
        self.root_ip: str | None = None
        self.hosts: dict[str, Host] = {}
        self._addrs = None
        self._cleanup = None
        self._shared: Path | None = None
        self._impaired: dict[str, object] = {}   # host -> "tc netem", a tbf spec or a running Wire

    # -- lifecycle
    def __enter__(self) -> "Lan":
        self.up()
        return self

    def __exit__(self, *exc) -> None:
        self.down()

    def up(self) -> None:
        require_netns()
        sweep_stale_netns()
        self._cleanup = register_cleanup(self.down)
        try:
            # two runs at once must not pick the same subnet: the pick holds until the root
            # namespace's address (which the other run's pick_subnet() sees) is in place
            with _subnet_lock():
                self.net = pick_subnet(self.prefixlen)
                self._addrs = iter(self.net.hosts())
                self.root_ip = str(next(self._addrs))
                ip("netns", "add", self.switch_ns)
                ip("link", "set", "lo", "up", ns=self.switch_ns)
                ip("link", "add", "br0", "type", "bridge", ns=self.switch_ns)
                # no STP and no forwarding delay: a port forwards as soon as it is up
                ip("link", "set", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0",
                   ns=self.switch_ns)
                ip("link", "set", "br0", "up", ns=self.switch_ns)
                ip("link", "add", self.root_if, "type", "veth", "peer", "name", "root", "netns", self.switch_ns)
                ip("link", "set", "root", "master", "br0", ns=self.switch_ns)
                ip("link", "set", "root", "up", ns=self.switch_ns)
                ip("addr", "add", f"{self.root_ip}/{self.prefixlen}", "dev", self.root_if)
                ip("link", "set", self.root_if, "up")
        except BaseException:
            self.down()
            raise

    def add_host(self, name: str) -> Host:
        """A new namespace with eth0 on the bridge and the next free address; waits until the root
        namespace reaches it."""
        if name in self.hosts:
            raise HarnessError(f"host {name} exists")
        ns = f"{NS_PREFIX}{os.getpid()}-{self.tag}-{name}"
        port = f"p-{name}"[:15]
        address = str(next(self._addrs))
        ip("netns", "add", ns)
        h = Host(self, name, ns, address, "eth0", port)
        self.hosts[name] = h
        ip("link", "set", "lo", "up", ns=ns)
        ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", self.switch_ns)
        ip("link", "set", port, "master", "br0", ns=self.switch_ns)
        ip("link", "set", port, "up", ns=self.switch_ns)
        ip("addr", "add", f"{address}/{self.prefixlen}", "dev", "eth0", ns=ns)
        ip("link", "set", "eth0", "up", ns=ns)
        self.wait_reachable(h)
        return h

    def wait_reachable(self, h: Host, timeout: float = 20.0) -> None:
        """Until a TCP listener inside the host answers from the root namespace (no ICMP tools)."""
        s = ns_socket(h.ns)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((h.ip, 0))
            s.listen(4)
            port = s.getsockname()[1]
            deadline = time.monotonic() + timeout
            last = None
            while time.monotonic() < deadline:
                try:
                    with socket.create_connection((h.ip, port), timeout=1):
                        return
                except OSError as e:
                    last = e
                    time.sleep(0.05)
            raise HarnessError(f"{h} not reachable from the root namespace over {self.root_if}: {last!r}")
        finally:
            s.close()

    def shared_dir(self) -> Path:
        """A directory whose mounts propagate between the hosts' mount namespaces and the test
        runner's (FUSE mountpoints of processes started with Host.prefix() go below it)."""
        if self._shared is None:
            self._shared = _make_shared_dir()
        return self._shared

    def down(self) -> None:
        with shielded():
            if self._cleanup:
                unregister_cleanup(self._cleanup)
                self._cleanup = None
            for host, how in list(self._impaired.items()):
                if not isinstance(how, str):
                    with contextlib.suppress(Exception):
                        how.stop()
            self._impaired.clear()
            if self._shared is not None:
                _release_shared_dir(self._shared)
                self._shared = None
            for h in list(self.hosts.values()):
                _kill_ns_pids(h.ns)
                ip("netns", "del", h.ns, check=False)
            self.hosts.clear()
            _kill_ns_pids(self.switch_ns)
            ip("netns", "del", self.switch_ns, check=False)  # takes the bridge and the peers with it
            ip("link", "del", self.root_if, check=False)      # normally gone with its peer

    # -- faults
    def set_link(self, host: str, up: bool) -> None:
        """The host's cable: its port on the bridge set down (frames to and from it are lost; the
        host itself still sees its interface up, as with a pulled cable at the far end)."""
        ip("link", "set", self.hosts[host].port, "up" if up else "down", ns=self.switch_ns)

    def impair(self, host: str, delay_ms: int, loss_pct: float, seed: int = 1) -> str:
        """Delay and loss on the host's link, both directions: tc netem on its port on the bridge
        and on its own interface; where the kernel has no netem, the same in user space (a Wire:
        harness/wire.py). Returns how ("tc netem" or "user-space wire")."""
        h = self.hosts[host]
        spec = ["netem", "delay", f"{delay_ms}ms", "loss", f"{loss_pct}%"]
        for ns, dev in ((self.switch_ns, h.port), (h.ns, h.ifname)):
            r = subprocess.run(["tc", "-n", ns, "qdisc", "replace", "dev", dev, "root", *spec],
                               capture_output=True, text=True, timeout=30)
            if r.returncode:
                self.clear_impairment(host)
                break
        else:
            self._impaired[host] = "tc netem"
            return "tc netem"
        # no sch_netem here (`tc qdisc replace ... netem`: "Specified qdisc kind is unknown")
        from .wire import Wire
        w = Wire(self, h, delay_ms, loss_pct, seed)
        try:
            w.start()
        except (OSError, HarnessError) as e:
            raise NetnsUnavailable(f"neither tc netem ({r.stderr.strip()!r}) nor a user-space wire ({e}) "
                                   f"could impair {host}'s link") from e
        self._impaired[host] = w
        return "user-space wire"

    def shape(self, host: str, rate_mbit: float, latency_ms: int) -> None:
        """A slow link without netem: a token bucket (tc tbf) of `rate_mbit` on both ends of the
        host's link; packets that would wait longer than `latency_ms` in its queue are dropped (so
        under load: queueing delay up to latency_ms, and loss)."""
        h = self.hosts[host]
        burst = max(16 * 1024, int(rate_mbit * 1e6 / 8 / 100))  # 10 ms worth of bytes, at least 16 KiB
        spec = ["tbf", "rate", f"{rate_mbit}mbit", "burst", str(burst), "latency", f"{latency_ms}ms"]
        for ns, dev in ((self.switch_ns, h.port), (h.ns, h.ifname)):
            r = subprocess.run(["tc", "-n", ns, "qdisc", "replace", "dev", dev, "root", *spec],
                               capture_output=True, text=True, timeout=30)
            if r.returncode:
                self.clear_impairment(host)
                raise NetnsUnavailable(f"tc tbf unavailable: {r.stderr.strip()!r}")
        self._impaired[host] = " ".join(spec)

    def qdisc_stats(self, host: str) -> dict:
        """Sent/dropped packets of the qdiscs on both ends of the host's link."""
        h = self.hosts[host]
        out = {}
        for side, ns, dev in (("to_host", self.switch_ns, h.port), ("from_host", h.ns, h.ifname)):
            r = subprocess.run(["tc", "-n", ns, "-j", "-s", "qdisc", "show", "dev", dev],
                               capture_output=True, text=True, timeout=30)
            with contextlib.suppress(ValueError, IndexError, KeyError):
                q = json.loads(r.stdout)[0]
                out[side] = {"kind": q.get("kind"), "packets": q.get("packets"), "drops": q.get("drops"),
                             "overlimits": q.get("overlimits")}
        return out

    def clear_impairment(self, host: str) -> dict | None:
        """Removes what impair()/shape() put on the host's link; a user-space wire's counters
        (frames, bytes, lost, queue drops per direction) are returned."""
        h = self.hosts[host]
        how = self._impaired.get(host)
        if how is not None and not isinstance(how, str):
            self._impaired.pop(host, None)
            return how.stop()
        for ns, dev in ((self.switch_ns, h.port), (h.ns, h.ifname)):
            subprocess.run(["tc", "-n", ns, "qdisc", "del", "dev", dev, "root"], capture_output=True, timeout=30)
        self._impaired.pop(host, None)
        return None

    def root_ucx_env(self) -> dict:
        """UCX pinned to tcp on the root namespace's port (for clients the test runner starts)."""
        return {"UCX_TLS": "tcp", "UCX_NET_DEVICES": self.root_if}

    def describe(self) -> str:
        return (f"{self.net} on bridge br0 in {self.switch_ns}; root {self.root_ip} on {self.root_if}; " +
                ", ".join(f"{h.name} {h.ip}" for h in self.hosts.values()))

"""Two "hosts" on one machine: master + volume server + filer + seaweed-rdma-agent in their own
network namespace, the mount in the root namespace, joined by a veth pair with a private /30 that
exists only on this machine. UCX is pinned to tcp on the veth on both sides (ucx-notes trap 5:
otherwise UCX sees one host and moves the data through shared memory, bypassing the link).

Skipped (with the reason) where network namespaces cannot be created."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import harness
from harness import (STATS, TMP_PREFIX, MiB, BytesBlob, Cluster, HarnessError, Proc, RandomBlob,
                     format_mismatches, text_bytes, verify_preads, verify_sequential)
from test_rdma import Agent, RdmaMount, diag, run_agent_cli, wait_until

NS_PREFIX = "swrdma"
CANDIDATE_NETS = ["172.31.255.0/30", "172.31.254.0/30", "172.31.253.0/30", "10.255.254.0/30"]


def ip(*args, check: bool = True, ns: str | None = None) -> subprocess.CompletedProcess:
    cmd = (["ip", "netns", "exec", ns, "ip"] if ns else ["ip"]) + [str(a) for a in args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
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


def sweep_stale_netns() -> None:
    """Namespaces (and their veths) left by an earlier run of this file whose process is gone."""
    r = ip("netns", "list", check=False)
    for line in r.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.fullmatch(NS_PREFIX + r"(\d+)", name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            ip("netns", "del", name, check=False)
            ip("link", "del", f"swr{m.group(1)}r", check=False)


def pick_subnet() -> ipaddress.IPv4Network:
    """A /30 that overlaps no address or route of the root namespace."""
    used = []
    for line in ip("-4", "-o", "addr", "show").stdout.splitlines():
        m = re.search(r"inet (\S+)", line)
        if m:
            used.append(ipaddress.ip_interface(m.group(1)).network)
    for line in ip("-4", "route", "show", "table", "all").stdout.splitlines():
        tok = line.split()
        if tok and tok[0] not in ("default", "broadcast", "local", "unreachable") and "/" in tok[0]:
            with contextlib.suppress(ValueError):
                used.append(ipaddress.ip_network(tok[0], strict=False))
    for c in CANDIDATE_NETS:
        n = ipaddress.ip_network(c)
        if not any(n.overlaps(u) for u in used):
            return n
    raise HarnessError(f"no free /30 among {CANDIDATE_NETS}")


class Link:
    """A network namespace plus a veth pair: <root side> in the root namespace, <ns side> inside."""

    def __init__(self):
        pid = os.getpid()
        self.ns = f"{NS_PREFIX}{pid}"
        self.veth_root = f"swr{pid}r"
        self.veth_ns = f"swr{pid}n"
        self.net = None
        self.ns_ip = self.root_ip = None
        self.procs: list[Proc] = []
        self._cleanup = None

    def up(self) -> None:
        if not shutil.which("ip"):
            pytest.skip("no `ip` (iproute2) to create network namespaces")
        sweep_stale_netns()
        r = ip("netns", "add", self.ns, check=False)
        if r.returncode:
            pytest.skip(f"cannot create a network namespace (`ip netns add`): {r.stderr.strip()}")
        self._cleanup = harness._register_cleanup(self.down)
        self.net = pick_subnet()
        hosts = list(self.net.hosts())
        self.ns_ip, self.root_ip = str(hosts[0]), str(hosts[1])
        r = ip("link", "add", self.veth_root, "type", "veth", "peer", "name", self.veth_ns, check=False)
        if r.returncode:
            self.down()
            pytest.skip(f"cannot create a veth pair: {r.stderr.strip()}")
        ip("link", "set", self.veth_ns, "netns", self.ns)
        ip("addr", "add", f"{self.root_ip}/{self.net.prefixlen}", "dev", self.veth_root)
        ip("link", "set", self.veth_root, "up")
        ip("link", "set", "lo", "up", ns=self.ns)
        ip("addr", "add", f"{self.ns_ip}/{self.net.prefixlen}", "dev", self.veth_ns, ns=self.ns)
        ip("link", "set", self.veth_ns, "up", ns=self.ns)
        # usable once the root side reaches a listener on the namespace side (no ICMP tools needed)
        probe = Proc("netns-probe", ["ip", "netns", "exec", self.ns, sys.executable, "-c",
                                     "import socket,time; s=socket.socket(); "
                                     f"s.bind(('{self.ns_ip}', 9)); s.listen(); time.sleep(60)"],
                     Path(tempfile.gettempdir()) / f"{TMP_PREFIX}netns-probe.log")
        try:
            def reach():
                with socket.create_connection((self.ns_ip, 9), timeout=1):
                    return True
            wait_until(f"{self.ns_ip}:9 reachable over {self.veth_root}", reach, 20, interval=0.1)
        finally:
            probe.stop(timeout=2)
            with contextlib.suppress(OSError):
                os.unlink(Path(tempfile.gettempdir()) / f"{TMP_PREFIX}netns-probe.log")

    def rx_bytes(self) -> int:
        return int(Path(f"/sys/class/net/{self.veth_root}/statistics/rx_bytes").read_text())

    def down(self) -> None:
        if self._cleanup:
            harness._unregister_cleanup(self._cleanup)
            self._cleanup = None
        for p in self.procs:
            p.stop(timeout=5)
        # anything of ours still in the namespace (it only holds processes this test started)
        r = ip("netns", "pids", self.ns, check=False)
        for pid in r.stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        ip("netns", "del", self.ns, check=False)
        ip("link", "del", self.veth_root, check=False)  # normally gone with the namespace


class NetnsCluster(Cluster):
    """`weed server` (master + volume + filer) inside the namespace, bound to its veth address."""

    def __init__(self, link: Link, **kw):
        super().__init__(**kw)
        self.link = link
        self.host = link.ns_ip
        self.launch_prefix = ["ip", "netns", "exec", link.ns]


@pytest.fixture(scope="module")
def link():
    lk = Link()
    lk.up()
    try:
        yield lk
    finally:
        lk.down()


@pytest.fixture(scope="module")
def ns_cluster(link):
    with NetnsCluster(link, name="netns") as c:
        yield c


def test_mount_reads_through_agent_across_veth(link, ns_cluster):
    c = ns_cluster
    files = {
        "/nx/multi-24m": (RandomBlob(8801, 24 * MiB + 12345), {"maxMB": 1}),
        "/nx/single-3m": (RandomBlob(8802, 3 * MiB - 7), {"maxMB": 4}),
        "/nx/text-2m.txt": (BytesBlob(text_bytes(8803, 2 * MiB + 1)), {"maxMB": 1}),
        "/nx/small": (BytesBlob(os.urandom(70000)), {}),
    }
    for p, (b, q) in files.items():
        c.put(p, b, **q)
    assert len(c.chunks_of("/nx/multi-24m")) == 25
    vs = c.volume_url(0).split("//", 1)[1]
    assert vs.startswith(link.ns_ip)
    ucx_ns = {"UCX_TLS": "tcp", "UCX_NET_DEVICES": link.veth_ns}
    ucx_root = {"UCX_TLS": "tcp", "UCX_NET_DEVICES": link.veth_root}
    a = Agent(c, name="agent-ns", volume_server=vs, ip=link.ns_ip, env=ucx_ns, client_env=ucx_root,
              netns=link.ns)
    try:
        a.start()
        tr = a.ping(show_transport=True)
        desc = " ".join(tr.stderr.decode(errors="replace").split())
        assert tr.returncode == 0, desc
        STATS.notes.append(f"rdma netns: {link.ns} {link.ns_ip}/{link.net.prefixlen} on {link.veth_ns} <-> root "
                           f"{link.root_ip} on {link.veth_root}; ping transport: {desc[-260:]}")
        assert f"tcp/{link.veth_root}" in desc, f"UCX does not use tcp on {link.veth_root}: {desc}"
        assert not re.search(r"\b(sysv|posix|cma|xpmem|knem)/", desc), f"shared memory in use: {desc}"
        # a client left to choose its transports (the agent stays pinned): recorded, not asserted
        dflt = run_agent_cli(["ping", f"-agent={a.address}", "-timeoutMs=3000", "-showTransport"])
        STATS.notes.append("rdma netns: same ping, client with UCX's default choice: " +
                           " ".join(dflt.stderr.decode(errors="replace").split())[-260:])

        with RdmaMount(c, {vs: a.address}, env=ucx_root, name="rdma-netns-mount") as m:
            rx0, c0, s0 = link.rx_bytes(), m.counters(), a.served_bytes()
            items = [(m.p(p), p, b) for p, (b, _) in files.items()]
            bad = verify_sequential(items, c)
            d = m.counters() - c0
            rx = link.rx_bytes() - rx0
            served = a.served_bytes() - s0
            bad += verify_preads(items, seed=99, count=25, cluster=c)
            STATS.notes.append(f"rdma netns: sequential {sum(b.size for b, _ in files.values())} B: {d}; agent served "
                               f"{int(served)} B; {link.veth_root} rx {rx} B")
            assert not bad, format_mismatches(bad) + "\n" + diag(m, a)
            assert d.share() >= 0.95, f"only {100 * d.share():.1f}% over the agent: {d}\n{diag(m, a)}"
            assert served >= d.rdma, f"agent served {served} B < mount rdma {d.rdma} B"
            # the bytes really crossed the veth (not shared memory between the namespaces)
            assert rx >= 0.95 * (d.rdma + d.http), f"only {rx} B received on {link.veth_root} for {d}"
    finally:
        a.stop()

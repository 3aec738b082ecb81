"""Two "hosts" on one machine: master + volume server + filer + seaweed-rdma-agent in a network
namespace of their own, the mount in the root namespace, both on a bridge of a private subnet that
exists only on this machine (harness.netns.Lan). UCX is pinned to tcp on the veths on both sides
(otherwise UCX sees one host and moves the data through shared memory, bypassing the link).

Skipped (with the reason) where network namespaces cannot be created."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from harness import (STATS, MiB, BytesBlob, Cluster, RandomBlob, format_mismatches, text_bytes, verify_preads,
                     verify_sequential)
from harness.netns import Host, Lan, NetnsUnavailable
from test_rdma import Agent, RdmaMount, diag, run_agent_cli


class NetnsCluster(Cluster):
    """`weed server` (master + volume + filer) inside a host of the LAN, bound to its address."""

    def __init__(self, host: Host, **kw):
        super().__init__(**kw)
        self.netns_host = host
        self.host = host.ip
        self.launch_prefix = host.prefix(own_sysfs=False)


@pytest.fixture(scope="module")
def lan():
    lan = Lan("rdma")
    try:
        lan.up()
    except NetnsUnavailable as e:
        pytest.skip(str(e))
    try:
        yield lan
    finally:
        lan.down()


@pytest.fixture(scope="module")
def server_host(lan):
    return lan.add_host("srv")


@pytest.fixture(scope="module")
def ns_cluster(server_host):
    with NetnsCluster(server_host, name="netns") as c:
        yield c


def rx_bytes(ifname: str) -> int:
    return int(Path(f"/sys/class/net/{ifname}/statistics/rx_bytes").read_text())


def test_mount_reads_through_agent_across_veth(lan, server_host, ns_cluster):
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
    assert vs.startswith(server_host.ip + ":")
    ucx_root = lan.root_ucx_env()
    a = Agent(c, name="agent-ns", volume_server=vs, ip=server_host.ip, env=server_host.ucx_env(),
              client_env=ucx_root, netns=server_host.ns)
    try:
        a.start()
        tr = a.ping(show_transport=True)
        desc = " ".join(tr.stderr.decode(errors="replace").split())
        assert tr.returncode == 0, desc
        STATS.notes.append(f"rdma netns: {lan.describe()}; ping transport: {desc[-260:]}")
        assert f"tcp/{lan.root_if}" in desc, f"UCX does not use tcp on {lan.root_if}: {desc}"
        assert not re.search(r"\b(sysv|posix|cma|xpmem|knem)/", desc), f"shared memory in use: {desc}"
        # a client left to choose its transports (the agent stays pinned): recorded, not asserted
        dflt = run_agent_cli(["ping", f"-agent={a.address}", "-timeoutMs=3000", "-showTransport"])
        STATS.notes.append("rdma netns: same ping, client with UCX's default choice: " +
                           " ".join(dflt.stderr.decode(errors="replace").split())[-260:])

        with RdmaMount(c, {vs: a.address}, env=ucx_root, name="rdma-netns-mount") as m:
            rx0, c0, s0 = rx_bytes(lan.root_if), m.counters(), a.served_bytes()
            items = [(m.p(p), p, b) for p, (b, _) in files.items()]
            bad = verify_sequential(items, c)
            d = m.counters() - c0
            rx = rx_bytes(lan.root_if) - rx0
            served = a.served_bytes() - s0
            bad += verify_preads(items, seed=99, count=25, cluster=c)
            STATS.notes.append(f"rdma netns: sequential {sum(b.size for b, _ in files.values())} B: {d}; agent served "
                               f"{int(served)} B; {lan.root_if} rx {rx} B")
            assert not bad, format_mismatches(bad) + "\n" + diag(m, a)
            assert d.share() >= 0.95, f"only {100 * d.share():.1f}% over the agent: {d}\n{diag(m, a)}"
            assert served >= d.rdma, f"agent served {served} B < mount rdma {d.rdma} B"
            # the bytes really crossed the veth (not shared memory between the namespaces)
            assert rx >= 0.95 * (d.rdma + d.http), f"only {rx} B received on {lan.root_if} for {d}"
    finally:
        a.stop()

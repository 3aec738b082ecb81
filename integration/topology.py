"""A SeaweedFS cluster spread over network namespaces on one machine (harness.netns), with an RDMA
agent beside each volume server and mounts on hosts of their own:

  host "meta"      weed master (-defaultReplication) + weed filer (separate processes, so the
                   filer restarts alone)
  host "vsN"       weed volume N (-rack, for 010) + seaweed-rdma-agent N, registered in the filer KV
  host "mountN"    seaweed-rdma-mount N (agents discovered in the filer KV), UCX pinned to tcp on
                   the host's eth0

All hosts hang on one bridge; the test runner (root namespace) has a port on it too, so it uploads
through the filer and scrapes the agents as a client on the LAN would. Mountpoints lie under the
LAN's shared directory, so the runner reads the files the mounts serve.

Used by test_topology.py and test_soak.py."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from harness import (TMP_PREFIX, WEED_BIN, Cluster, HarnessError, Proc, free_port_pair, http_request,
                     register_cleanup, shielded, sweep_stale)
from harness.net import _remove_weed_sockets
from harness.netns import Host, Lan
from test_rdma import Agent, Counters, RdmaMount, msum, scrape, wait_until


class NsMount(RdmaMount):
    """RdmaMount run inside a host of the LAN (its metrics answer on that host's 127.0.0.1)."""

    def __init__(self, cluster: "Topology", host: Host, args=(), name: str | None = None, **kw):
        self.host = host
        super().__init__(cluster, None, args=args, env=host.ucx_env(), name=name or f"mount-{host.name}",
                         launch_prefix=host.prefix(), mount_parent=cluster.lan.shared_dir(), **kw)

    def metrics(self) -> dict:
        r = self.host.http_request(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10)
        if r.status != 200:
            raise HarnessError(f"{self.name} metrics: HTTP {r.status}")
        return _parse_prom(r.body.decode())

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None


def _parse_prom(text: str) -> dict:
    from test_rdma import _LABEL, _SERIES
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SERIES.match(line)
        if m:
            out[(m.group(1), tuple(sorted(_LABEL.findall(m.group(2) or ""))))] = float(m.group(3))
    return out


class VolumeHost:
    """One volume server and its agent on one host."""

    def __init__(self, topo: "Topology", i: int, host: Host, rack: str | None):
        self.topo = topo
        self.i = i
        self.host = host
        self.rack = rack
        self.port = free_port_pair()
        self.dir = topo.dir / f"vol{i}"
        self.dir.mkdir()
        self.proc: Proc | None = None
        self.supervisor_restarts = 0
        self.agent = Agent(topo, name=f"agent{i}", dirs=self.dir, volume_server=self.addr, ip=host.ip,
                           env=host.ucx_env(), client_env=topo.lan.root_ucx_env(), filer=topo.filer_addr,
                           netns=host.ns)

    @property
    def addr(self) -> str:
        """host:port as the master and filer name this volume server (the KV key's suffix)."""
        return f"{self.host.ip}:{self.port}"

    def argv(self) -> list[str]:
        a = [*self.host.prefix(own_sysfs=False), WEED_BIN, f"-logdir={self.topo.dir / 'logs'}", "volume",
             f"-dir={self.dir}", f"-ip={self.host.ip}", f"-ip.bind={self.host.ip}", f"-port={self.port}",
             f"-master={self.topo.master_addr}", f"-max={self.topo.volume_max}", "-preStopSeconds=0"]
        if self.rack:
            a.append(f"-rack={self.rack}")
        return a

    def start_volume(self) -> None:
        if self.proc and self.proc.alive():
            raise HarnessError(f"volume server {self.i} is running")
        _remove_weed_sockets([self.port, self.port + 10000])
        self.proc = Proc(f"weed-volume{self.i}", self.argv(), self.topo.dir / f"weed-volume{self.i}.log",
                         cwd=str(self.topo.dir))

    def wait_volume(self, timeout: float = 60) -> None:
        wait_until(f"volume server {self.addr} /status", lambda: http_request(
            f"http://{self.addr}/status", timeout=3).status == 200, timeout, interval=0.1,
            diag=lambda: self.proc.tail(30))

    def start_agent(self, tries: int = 3) -> None:
        """Starts the agent the way its systemd unit supervises it (Restart=on-failure): an agent
        that exits because the filer did not answer its registration is started again (counted
        in supervisor_restarts)."""
        for k in range(tries):
            try:
                self.agent.start()
                return
            except (AssertionError, HarnessError):  # HarnessError: test_rdma.Fatal, the agent exited
                log = self.agent.log(20)
                if k + 1 == tries or "cannot register with the filer" not in log:
                    raise
                self.supervisor_restarts += 1
                self.agent.stop(timeout=5)
                time.sleep(2)  # RestartSec of packaging/seaweed-rdma-agent.service

    def kill9(self) -> None:
        """kill -9 of the volume server and its agent, together."""
        for p in (self.proc, self.agent.proc):
            if p and p.alive():
                os.kill(p.pid, signal.SIGKILL)
        if self.proc:
            self.proc.wait(15)
            self.proc.stop(timeout=1)
        if self.agent.proc:
            self.agent.proc.wait(15)
            self.agent.proc.stop(timeout=1)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.agent.stop(timeout=5)
        if self.proc:
            self.proc.stop(timeout=5)


class Topology(Cluster):
    """Master + filer on host "meta", `volumes` volume servers with agents on hosts vs0..,
    Lan given (the caller owns it). Mounts: Topology.mount(i) -> NsMount on host mount<i>."""

    def __init__(self, lan: Lan, volumes: int = 3, replication: str = "001", racks: list[str] | None = None,
                 volume_size_limit_mb: int = 64, volume_max: int = 16, name: str = "topo",
                 start_timeout: float = 120.0):
        super().__init__(volume_size_limit_mb=volume_size_limit_mb, volume_max=volume_max, name=name,
                         start_timeout=start_timeout)
        self.lan = lan
        self.n_volumes = volumes
        self.replication = replication
        self.racks = racks
        self.vols: list[VolumeHost] = []
        self.master_proc: Proc | None = None
        self.filer_proc: Proc | None = None
        self.meta: Host | None = None
        self.mount_hosts: dict[int, Host] = {}

    # -- lifecycle
    def start(self) -> None:
        sweep_stale()
        self.dir = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + self.name + "-"))
        (self.dir / "logs").mkdir()
        (self.dir / "master").mkdir()
        (self.dir / "filer").mkdir()
        self._cleanup_fn = register_cleanup(lambda: self.stop())
        try:
            self.meta = self.lan.add_host("meta")
            self.host = self.meta.ip
            self.master_port = free_port_pair()
            self.filer_port = free_port_pair()
            self._ports = [self.master_port, self.filer_port]
            self.master_proc = Proc("weed-master", self._master_argv(), self.dir / "weed-master.log",
                                    cwd=str(self.dir))
            self.procs.append(self.master_proc)
            deadline = time.monotonic() + self.start_timeout
            self._wait_master(deadline, expect_nodes=0)
            for i in range(self.n_volumes):
                h = self.lan.add_host(f"vs{i}")
                rack = self.racks[i % len(self.racks)] if self.racks else None
                v = VolumeHost(self, i, h, rack)
                self.vols.append(v)
                self._ports.append(v.port)
                v.start_volume()
            self.volume_ports = [v.port for v in self.vols]
            self.start_filer(wait=False)
            self._wait_ready(deadline)
            for v in self.vols:
                v.start_agent()
            wait_until("every agent registered in the filer KV", self._agents_registered, 30, interval=0.2)
        except BaseException:
            print(self.logs_tail(), file=sys.stderr)
            self.stop(failed=True)
            raise

    def _master_argv(self) -> list[str]:
        return [*self.meta.prefix(own_sysfs=False), WEED_BIN, f"-logdir={self.dir / 'logs'}", "master",
                f"-ip={self.meta.ip}", f"-ip.bind={self.meta.ip}", f"-port={self.master_port}",
                f"-mdir={self.dir / 'master'}", f"-defaultReplication={self.replication}",
                f"-volumeSizeLimitMB={self.volume_size_limit_mb}", "-telemetry=false"]

    def _filer_argv(self) -> list[str]:
        return [*self.meta.prefix(own_sysfs=False), WEED_BIN, f"-logdir={self.dir / 'logs'}", "filer",
                f"-ip={self.meta.ip}", f"-ip.bind={self.meta.ip}", f"-port={self.filer_port}",
                f"-master={self.master_addr}", f"-defaultStoreDir={self.dir / 'filer'}",
                f"-localSocket={self.dir / 'filer.sock'}"]

    def volume_url(self, i: int = 0) -> str:
        return f"http://{self.vols[i].addr}"

    def _check_alive(self) -> None:
        for p in [self.master_proc, self.filer_proc] + [v.proc for v in self.vols]:
            if p is not None and not p.alive() and p in self.procs:
                raise HarnessError(f"{p.name} exited with {p.returncode}:\n{p.tail()}")

    def _agents_registered(self) -> bool:
        from test_rdma import kv_get
        return all(kv_get(self, "seaweed-rdma-agent/" + v.addr) == v.agent.address.encode() for v in self.vols)

    def stop(self, failed: bool = False) -> None:
        with shielded():
            for v in self.vols:
                v.stop()
            self.procs = [p for p in (self.filer_proc, self.master_proc) if p is not None]
            self._stop(failed)

    # -- the filer alone
    def start_filer(self, wait: bool = True) -> None:
        _remove_weed_sockets([self.filer_port, self.filer_port + 10000])
        self.filer_proc = Proc("weed-filer", self._filer_argv(), self.dir / "weed-filer.log", cwd=str(self.dir))
        self.procs.append(self.filer_proc)
        if wait:
            deadline = time.monotonic() + self.start_timeout
            self._wait_http(self.filer_url + "/?pretty=y", deadline, "filer")
            self._wait_write_path(deadline)

    def stop_filer(self) -> int | None:
        p = self.filer_proc
        rc = p.stop(signal.SIGTERM, timeout=20)
        with contextlib.suppress(ValueError):
            self.procs.remove(p)
        if self._grpc:
            with contextlib.suppress(Exception):
                self._grpc.close()
            self._grpc = None
        return rc

    # -- mounts
    def mount(self, i: int, args=(), **kw) -> NsMount:
        """A (not yet started) mount on host mount<i> (the host is made on first use)."""
        if i not in self.mount_hosts:
            self.mount_hosts[i] = self.lan.add_host(f"mount{i}")
        return NsMount(self, self.mount_hosts[i], args=args, **kw)

    # -- figures
    def agent_load(self) -> dict[str, dict[str, float]]:
        """{agent name: {bytes, requests, ok}} from each running agent's metrics (0 if down)."""
        out = {}
        for v in self.vols:
            a = v.agent
            d = {"bytes": 0.0, "requests": 0.0, "ok": 0.0}
            if a.alive():
                with contextlib.suppress(Exception):
                    # short: an agent behind a downed link must not stall the sampling
                    m = scrape(a.metrics_url, timeout=1.5)
                    d["bytes"] = msum(m, "seaweed_agent_served_bytes_total")
                    d["requests"] = msum(m, "seaweed_agent_requests_total")
                    d["ok"] = msum(m, "seaweed_agent_requests_total", result="ok")
            out[a.name] = d
        return out

    def volume_replicas(self) -> dict[int, list[str]]:
        """volume id -> the volume servers holding it, in the order the filer's LookupVolume lists
        them (the order the mount tries them in)."""
        ids = set()
        for v in self.vols:
            with contextlib.suppress(Exception):
                st = http_request(f"http://{v.addr}/status", timeout=5).json()
                ids |= {int(vol["Id"]) for vol in st.get("Volumes") or []}
        g = self.grpc
        r = g.stub.LookupVolume(g.pb.LookupVolumeRequest(volume_ids=[str(i) for i in sorted(ids)]), timeout=30)
        return {int(k): [loc.url for loc in v.locations] for k, v in r.locations_map.items()}


class LoadTracker:
    """Per-agent byte/request totals across agent restarts (a restarted agent's counters start at 0)."""

    def __init__(self, topo: Topology):
        self.topo = topo
        self.last = topo.agent_load()
        self.total = {k: {"bytes": 0.0, "requests": 0.0} for k in self.last}

    def sample(self) -> dict[str, dict[str, float]]:
        now = self.topo.agent_load()
        for k, d in now.items():
            for f in ("bytes", "requests"):
                prev = self.last.get(k, {}).get(f, 0.0)
                cur = d[f]
                self.total[k][f] += cur - prev if cur >= prev else cur
            if d["bytes"] or d["requests"] or self.topo.vols[int(k[5:])].agent.alive():
                self.last[k] = d
        return {k: dict(v) for k, v in self.total.items()}


def delta_load(a: dict, b: dict) -> dict:
    return {k: {f: b[k][f] - a[k][f] for f in ("bytes", "requests")} for k in b}


def counters_dict(c: Counters) -> dict:
    return {"rdma_bytes": int(c.rdma), "http_bytes": int(c.http),
            "fallbacks": {k: int(v) for k, v in sorted(c.fallbacks.items()) if v},
            "slow_replica_skips": int(c.slow_skips)}

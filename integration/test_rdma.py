"""The RDMA read path end to end: seaweed-rdma-mount reading the corpus through seaweed-rdma-agent
(beside the volume server, serving needles from the .idx/.dat files over UCX), with per-request
HTTP fallback. Every read is compared with the uploaded bytes; the mount's and the agent's
Prometheus counters show which transport carried the bytes.

Variants: agent given with -rdma.agents (UCX picks its transports), agent discovered through the
filer KV store (agent -filer=...), UCX pinned to tcp on lo (UCX_TLS=tcp UCX_NET_DEVICES=lo in the
agent and the mount), an encrypted-filer cluster (AES-GCM / gzip+AES-GCM needles), and upstream
`weed mount -rdma.sidecar=` against the agent's sidecar HTTP API.

The helpers in the first section (Agent, RdmaMount, counters) are shared with test_rdma_faults.py
and test_rdma_netns.py."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest

from harness import (MOUNT_BIN, STATS, WEED_BIN, MiB, BytesBlob, Cluster, HarnessError, Mount, Proc,
                     RandomBlob, compare_stream, format_mismatches, free_port, http_request,
                     is_mounted, lazy_unmount, random_bytes, read_file_blocks, text_bytes,
                     verify_preads, verify_sequential)

# beside the mount binary by default (ctest passes SEAWEED_MOUNT_BIN of the build tree)
AGENT_BIN = os.environ.get("SEAWEED_AGENT_BIN") or str(Path(MOUNT_BIN).parent / "seaweed-rdma-agent")
TCP_LO = {"UCX_TLS": "tcp", "UCX_NET_DEVICES": "lo"}
LARGE = MiB  # "large file": at least this many bytes


# =============================================================================================
# shared helpers (also used by test_rdma_faults.py and test_rdma_netns.py)
# =============================================================================================

class Fatal(HarnessError):
    """Raised inside a wait_until() condition: stop waiting at once (e.g. the process died)."""


def wait_until(what: str, fn, timeout: float = 30.0, interval: float = 0.05, diag=None):
    """Polls fn() until it returns a truthy value (returned) or the deadline passes (AssertionError
    naming `what`, plus diag() output). Exceptions other than Fatal count as "not yet"."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = fn()
            if v:
                return v
        except Fatal:
            raise
        except Exception as e:  # noqa: BLE001 - report the last one on timeout
            last_exc = e
        if time.monotonic() >= deadline:
            extra = ""
            if diag:
                with contextlib.suppress(Exception):
                    extra = "\n" + diag()
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}"
                                 f"{f' (last error: {last_exc!r})' if last_exc else ''}{extra}")
        time.sleep(interval)


_SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def scrape(url: str, timeout: float = 10.0) -> dict[tuple[str, tuple], float]:
    """Prometheus text -> {(name, ((label, value), ...)): value}."""
    r = http_request(url, timeout=timeout)
    if r.status != 200:
        raise HarnessError(f"GET {url}: HTTP {r.status}")
    out = {}
    for line in r.body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SERIES.match(line)
        if not m:
            continue
        labels = tuple(sorted(_LABEL.findall(m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def msum(metrics: dict, name: str, **labels) -> float:
    """Sum of the series `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in metrics.items() if n == name and want <= set(ls))


def by_label(metrics: dict, name: str, label: str) -> dict[str, float]:
    out = {}
    for (n, ls), v in metrics.items():
        if n == name:
            d = dict(ls)
            out[d.get(label, "")] = out.get(d.get(label, ""), 0) + v
    return out


def volume_server_key(cluster: Cluster, i: int = 0) -> str:
    """The volume server as the filer's LookupVolume names it (and -rdma.agents / the KV key use)."""
    return cluster.volume_url(i).split("//", 1)[1]


def run_agent_cli(args: list, env: dict | None = None, timeout: float = 60,
                  netns: str | None = None) -> subprocess.CompletedProcess:
    full = dict(os.environ)
    if env:
        full.update(env)
    prefix = ["ip", "netns", "exec", netns] if netns else []
    return subprocess.run([*prefix, AGENT_BIN, *map(str, args)], capture_output=True, env=full,
                          timeout=timeout)


class Agent:
    """A seaweed-rdma-agent process beside a volume server. start() waits for a UCX ping; the
    ports stay the same across kill9()/stop() + start(), so a restart comes back on the same
    address. The log is <log_dir>/<name>.log (appended across restarts)."""

    def __init__(self, cluster: Cluster | None, name: str = "agent", dirs: str | os.PathLike | None = None,
                 volume_server: str | None = None, ip: str = "127.0.0.1", port: int | None = None,
                 env: dict | None = None, client_env: dict | None = None, filer: str | None = None,
                 extra=(), netns: str | None = None, log_dir: Path | None = None,
                 sidecar: bool = True, metrics: bool = True, peer_errors: bool = True):
        self.cluster = cluster
        self.name = name
        self.dirs = str(dirs if dirs is not None else cluster.dir / "data")
        self.volume_server = volume_server or volume_server_key(cluster)
        self.ip = ip
        self.port = port or free_port()
        self.sidecar_port = free_port() if sidecar else 0
        self.metrics_port = free_port() if metrics else 0
        self.env = env
        self.client_env = client_env if client_env is not None else env
        self.filer = filer
        self.extra = list(extra)
        # UCX peer error handling (agent -ucx.peerErrorHandling, mount -rdma.peerErrorHandling);
        # both ends must agree. Off, UCX 1.13 uses cma between processes on one host.
        self.peer_errors = peer_errors
        if not peer_errors:
            self.extra.append("-ucx.peerErrorHandling=false")
        self.netns = netns
        self.log_dir = Path(log_dir or cluster.dir)
        self.proc: Proc | None = None
        self.starts = 0

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def argv(self) -> list:
        a = [AGENT_BIN, f"-dir={self.dirs}", f"-volumeServer={self.volume_server}", f"-ip={self.ip}",
             f"-port={self.port}"]
        if self.sidecar_port:
            a.append(f"-sidecar.port={self.sidecar_port}")
        if self.metrics_port:
            a.append(f"-metricsPort={self.metrics_port}")
        if self.filer:
            a.append(f"-filer={self.filer}")
        a += self.extra
        if self.netns:
            a = ["ip", "netns", "exec", self.netns, *a]
        return a

    def start(self, wait: bool = True, timeout: float = 60.0) -> "Agent":
        if self.proc and self.proc.alive():
            raise HarnessError(f"{self.name} is already running")
        self.proc = Proc(self.name, self.argv(), self.log_path, env=self.env)
        self.starts += 1
        if wait:
            wait_until(f"{self.name} at {self.address} to answer a UCX ping", self._ready, timeout,
                       interval=0.2, diag=lambda: self.proc.tail(40))
        return self

    def _ready(self) -> bool:
        if not self.proc.alive():
            raise Fatal(f"{self.name} exited with {self.proc.returncode}:\n{self.proc.tail(40)}")
        return self.ping().returncode == 0

    def ping(self, show_transport: bool = False, timeout_ms: int = 1000) -> subprocess.CompletedProcess:
        args = ["ping", f"-agent={self.address}", f"-timeoutMs={timeout_ms}"]
        if not self.peer_errors:
            args.append("-ucx.peerErrorHandling=false")
        if show_transport:
            args.append("-showTransport")
        return run_agent_cli(args, env=self.client_env, timeout=30)

    def alive(self) -> bool:
        return bool(self.proc and self.proc.alive())

    def kill9(self) -> None:
        p = self.proc
        assert p and p.alive(), f"{self.name} is not running"
        os.kill(p.pid, signal.SIGKILL)
        assert p.wait(15) is not None, f"{self.name} survived SIGKILL"
        p.stop(timeout=1)  # reaps, closes the log, unregisters the cleanup

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if not self.proc:
            return None
        return self.proc.stop(sig, timeout=timeout)

    def signal(self, sig: int) -> None:
        if self.proc:
            self.proc.send_signal(sig)

    @property
    def metrics_url(self) -> str:
        return f"http://{self.ip}:{self.metrics_port}/metrics"

    def metrics(self) -> dict:
        return scrape(self.metrics_url)

    def served_bytes(self) -> float:
        return msum(self.metrics(), "seaweed_agent_served_bytes_total")

    def sidecar(self, path: str, timeout: float = 30.0):
        return http_request(f"http://{self.ip}:{self.sidecar_port}{path}", timeout=timeout)

    def log(self, lines: int = 40) -> str:
        from harness import tail_file
        return tail_file(self.log_path, lines)


class RdmaMount(Mount):
    """Mount with the RDMA path on and a metrics port. agents={volume server: agent address} is
    passed as -rdma.agents; agents=None leaves the mount to discover agents in the filer KV."""

    def __init__(self, cluster: Cluster, agents: dict | None = None, args=(), env: dict | None = None,
                 name: str = "rdma-mount", **kw):
        self.metrics_port = free_port()
        a = ["-readOnly", f"-metricsPort={self.metrics_port}"]
        if agents:
            a.append("-rdma.agents=" + ",".join(f"{vs}={ag}" for vs, ag in agents.items()))
        a += list(args)
        super().__init__(cluster, a, rdma=True, env=env, name=name, **kw)

    def metrics(self) -> dict:
        return scrape(f"http://127.0.0.1:{self.metrics_port}/metrics")

    def counters(self) -> "Counters":
        return Counters(self.metrics())


class Counters:
    """The mount's transport counters at one moment."""

    def __init__(self, m: dict):
        self.rdma = msum(m, "seaweed_mount_read_bytes_total", transport="rdma")
        self.http = msum(m, "seaweed_mount_read_bytes_total", transport="http")
        self.fallbacks = by_label(m, "seaweed_mount_rdma_fallbacks_total", "reason")
        self.slow_skips = msum(m, "seaweed_mount_slow_replica_skips_total")

    @property
    def fallback_total(self) -> float:
        return sum(self.fallbacks.values())

    def __sub__(self, o: "Counters") -> "Counters":
        d = Counters({})
        d.rdma, d.http = self.rdma - o.rdma, self.http - o.http
        d.fallbacks = {k: v - o.fallbacks.get(k, 0) for k, v in self.fallbacks.items()}
        d.slow_skips = self.slow_skips - o.slow_skips
        return d

    def share(self) -> float:
        t = self.rdma + self.http
        return self.rdma / t if t else 0.0

    def __str__(self):
        fb = ", ".join(f"{k}={int(v)}" for k, v in sorted(self.fallbacks.items()) if v) or "none"
        return (f"rdma {int(self.rdma)} B ({self.rdma / MiB:.1f} MiB), http {int(self.http)} B "
                f"({self.http / MiB:.1f} MiB), rdma share {100 * self.share():.2f}%, fallbacks: {fb}")


def kv_get(cluster: Cluster, key: str) -> bytes:
    g = cluster.grpc
    r = g.stub.KvGet(g.pb.KvGetRequest(key=key.encode()), timeout=30)
    if r.error:
        raise HarnessError(f"KvGet {key}: {r.error}")
    return r.value


def items_of(m: Mount, files) -> list:
    return [(m.p(f.path), f.path, f.blob) for f in files]


def thread_stacks(pid: int, frames: int = 25) -> str:
    """Every thread's stack of process `pid` (gdb -batch), or why there are none."""
    if not shutil.which("gdb"):
        return "(no gdb: no thread stacks)"
    try:
        r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", f"thread apply all bt {frames}"],
                           capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return "(gdb did not finish in 120 s)"
    return r.stdout[-20000:]


def diag(m: Mount | None = None, *agents: Agent) -> str:
    """Counters and log tails of the mount and agents; when the mount's metrics endpoint does not
    answer (a mount that hangs), every thread's stack of the mount instead of its counters."""
    out = []
    if m is not None:
        try:
            out.append(f"mount counters: {m.counters()}")
        except Exception as e:  # noqa: BLE001 - the diagnosis goes on without them
            out.append(f"mount counters: none ({e!r})")
            if m.proc is not None and m.proc.alive():
                out.append(f"--- mount threads ---\n{thread_stacks(m.proc.pid)}")
        out.append(f"--- mount log ---\n{m.log(40)}")
    for a in agents:
        out.append(f"--- {a.name} log ({'running' if a.alive() else 'not running'}) ---\n{a.log(30)}")
    return "\n".join(out)


# =============================================================================================
# fixtures
# =============================================================================================

def core_files(corpus):
    return [f for f in corpus.files.values() if f.kind != "saveinside"]


def large_files(corpus):
    return sorted((f for f in core_files(corpus) if f.blob.size >= LARGE), key=lambda f: f.path)


@pytest.fixture(scope="module")
def agent(cluster, corpus):
    """The agent for the corpus cluster's volume server, started after the upload (UCX chooses
    its transports; no filer registration)."""
    a = Agent(cluster, name="agent")
    a.start()
    yield a
    rc = a.stop()
    assert rc == 0, f"agent exited with {rc} on SIGTERM:\n{a.log()}"


def read_and_check(m: RdmaMount, cluster, corpus, what: str, preads: bool = False, agents=()):
    """Large files first on a fresh mount (their transport split measured alone), then the rest;
    returns (large-file counters delta, total delta)."""
    c0 = m.counters()
    large = large_files(corpus)
    bad = verify_sequential(items_of(m, large), cluster)
    c1 = m.counters()
    rest = [f for f in core_files(corpus) if f.blob.size < LARGE]
    bad += verify_sequential(items_of(m, rest), cluster)
    if preads:
        files = [f for f in core_files(corpus) if f.blob.size > 0]
        bad += verify_preads(items_of(m, files), seed=4242, count=20, cluster=cluster)
    c2 = m.counters()
    large_d, total_d = c1 - c0, c2 - c0
    STATS.notes.append(f"rdma [{what}]: {len(large)} large files ({sum(f.blob.size for f in large)} B): "
                       f"{large_d}")
    STATS.notes.append(f"rdma [{what}]: whole run ({len(core_files(corpus))} files"
                       f"{' + random preads' if preads else ''}): {total_d}")
    assert not bad, f"[{what}] {len(bad)} mismatches:\n{format_mismatches(bad)}\n{diag(m, *agents)}"
    assert large_d.rdma + large_d.http > 0, f"[{what}] no volume-server bytes counted\n{diag(m, *agents)}"
    assert large_d.share() >= 0.95, (f"[{what}] only {100 * large_d.share():.2f}% of the large files' "
                                     f"bytes came over the agent: {large_d}\n{diag(m, *agents)}")
    return large_d, total_d


# =============================================================================================
# the corpus through the agent
# =============================================================================================

def test_corpus_through_agent_explicit(cluster, corpus, agent):
    """-rdma.agents=VOLSERVER=AGENT, default UCX env: sequential + random preads of the whole
    corpus byte-exact; >= 95% of the large files' bytes over the agent."""
    served0 = agent.served_bytes()
    with RdmaMount(cluster, {volume_server_key(cluster): agent.address}, name="rdma-explicit") as m:
        large_d, total_d = read_and_check(m, cluster, corpus, "explicit -rdma.agents, UCX default",
                                          preads=True, agents=(agent,))
        # odd-sized reads over chunk edges, gzip and overlaps
        files = [f for f in core_files(corpus)
                 if f.kind in ("chunked", "overlap", "hole", "append", "text") and f.blob.size < 70 * MiB]
        bad = verify_sequential(items_of(m, files), cluster, block=4097)
        assert not bad, format_mismatches(bad)
        total = m.counters()
    served = agent.served_bytes() - served0
    STATS.notes.append(f"rdma [explicit]: agent served {int(served)} B; mount total {total}")
    # everything the mount counted as rdma was sent by this agent (and nothing much else)
    assert served >= total.rdma * 0.99, f"agent served {served} B < mount rdma bytes {total.rdma}"
    tr = agent.ping(show_transport=True)
    STATS.notes.append("rdma [explicit]: ping transport (default env): " +
                       " ".join(tr.stderr.decode(errors="replace").split())[-300:])


def test_corpus_discovered_via_filer_kv(cluster, corpus):
    """Agent started with -filer registers seaweed-rdma-agent/<volume server> in the filer KV; a
    mount without -rdma.agents finds it. SIGTERM removes the key again."""
    key = "seaweed-rdma-agent/" + volume_server_key(cluster)
    a = Agent(cluster, name="agent-kv", filer=cluster.filer_addr)
    try:
        a.start()
        assert wait_until(f"KV {key}", lambda: kv_get(cluster, key) == a.address.encode(), 15,
                          diag=a.log), "agent not registered"
        with RdmaMount(cluster, None, name="rdma-kv") as m:
            read_and_check(m, cluster, corpus, "discovered via filer KV", agents=(a,))
        rc = a.stop()
        assert rc == 0, f"agent-kv exited with {rc} on SIGTERM:\n{a.log()}"
        assert kv_get(cluster, key) == b"", f"KV {key} still {kv_get(cluster, key)!r} after SIGTERM"
    finally:
        a.stop()


def test_agent_keeps_serving_while_its_filer_is_unreachable(cluster):
    """An agent whose filer does not answer (not started yet, restarting) does not exit: it serves
    and retries the registration in the background, logging the failure once per streak."""
    dead_filer = f"127.0.0.1:{free_port()}"
    a = Agent(cluster, name="agent-nofiler", filer=dead_filer)
    try:
        a.start()
        assert wait_until("the registration failure logged", lambda: "cannot register" in a.log(), 30, diag=a.log)
        assert a.ping().returncode == 0 and a.alive(), a.log()
        rc = a.stop()
        assert rc == 0, f"exited with {rc} on SIGTERM:\n{a.log()}"
        assert a.log().count("cannot register") == 1, a.log()  # once for the whole streak
    finally:
        a.stop()


def test_corpus_tcp_only(cluster, corpus):
    """UCX_TLS=tcp UCX_NET_DEVICES=lo in both the agent and the mount."""
    a = Agent(cluster, name="agent-tcp", env=TCP_LO)
    try:
        a.start()
        tr = a.ping(show_transport=True)
        desc = " ".join(tr.stderr.decode(errors="replace").split())
        STATS.notes.append(f"rdma [tcp]: ping transport: {desc[-300:]}")
        assert tr.returncode == 0, desc
        with RdmaMount(cluster, {volume_server_key(cluster): a.address}, env=TCP_LO, name="rdma-tcp") as m:
            read_and_check(m, cluster, corpus, "UCX_TLS=tcp UCX_NET_DEVICES=lo", agents=(a,))
    finally:
        a.stop()


# =============================================================================================
# listening surface of a mount that reads through the agent (issue 10)
# =============================================================================================

def tcp_listeners(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every listening TCP socket of process `pid` (`ss -ltnp`)."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        if f"pid={pid}," in line:
            addr, port = line.split()[3].rsplit(":", 1)
            found.append((addr.strip("[]"), int(port)))
    return sorted(found)


def test_mount_reading_through_agent_listens_only_on_loopback(cluster, corpus, agent):
    """After agent reads, the mount's UCX worker listens only on the device that routes to the
    agent: loopback here (it used to listen on the machine's other addresses too)."""
    big = large_files(corpus)[0]
    with RdmaMount(cluster, {volume_server_key(cluster): agent.address}, name="rdma-surface") as m:
        c0 = m.counters()
        bad = verify_sequential(items_of(m, [big]), cluster)
        assert not bad, format_mismatches(bad)
        assert (m.counters() - c0).rdma > 0, f"no bytes over the agent\n{diag(m, agent)}"
        found = tcp_listeners(m.proc.pid)
        STATS.notes.append(f"rdma [surface]: mount listeners after agent reads: {found}")
        off = [entry for entry in found if entry[0] not in ("127.0.0.1", "::1")]
        assert not off, f"the mount listens off loopback: {found}"
        found = tcp_listeners(agent.proc.pid)
        assert all(addr == "127.0.0.1" for addr, _ in found), f"agent listeners: {found}"


# =============================================================================================
# encrypted filer: the agent ships ciphertext (and gzip+ciphertext); the mount decrypts
# =============================================================================================

@pytest.fixture(scope="module")
def enc_cluster():
    with Cluster(encrypt=True, name="rdma-enc") as c:
        yield c


def test_encrypted_cluster_through_agent(enc_cluster):
    c = enc_cluster
    root = "/renc"
    files = {}

    def put(rel, blob, **q):
        blob = blob if not isinstance(blob, bytes) else BytesBlob(blob)
        c.put(f"{root}/{rel}", blob, **q)
        files[f"{root}/{rel}"] = blob

    put("bin/4097", random_bytes(31, 4097))
    put("bin/c1048577", RandomBlob(32, MiB + 1), maxMB=1)
    put("bin/m5", RandomBlob(33, 5 * MiB + 7), maxMB=1)
    put("bin/b17", RandomBlob(34, 17 * MiB + 3))
    put("text/small.txt", text_bytes(35, 30000), content_type="text/plain")
    put("text/multi.txt", text_bytes(36, 3 * MiB + 11), maxMB=1)
    a = Agent(c, name="agent-enc")
    try:
        a.start()
        # one more after the agent started: served after the agent tails the .idx
        put("text/late.txt", text_bytes(37, 2 * MiB + 1), maxMB=1)
        put("bin/late", RandomBlob(38, 3 * MiB + 3), maxMB=1)
        for p in files:
            chunks = c.chunks_of(p)
            assert chunks and all(ch.get("cipher_key") for ch in chunks), f"{p}: not encrypted: {chunks}"
        assert any(ch.get("is_compressed") for ch in c.chunks_of(f"{root}/text/multi.txt")), "no gzip+encrypt"
        with RdmaMount(c, {volume_server_key(c): a.address}, name="rdma-enc-mount") as m:
            c0 = m.counters()
            large = [(m.p(p), p, b) for p, b in sorted(files.items()) if b.size >= LARGE]
            bad = verify_sequential(large, c)
            d = m.counters() - c0
            bad += verify_sequential([(m.p(p), p, b) for p, b in files.items() if b.size < LARGE], c)
            bad += verify_preads([(m.p(p), p, b) for p, b in files.items()], seed=77, count=20, cluster=c)
            STATS.notes.append(f"rdma [encrypted cluster]: large files: {d}; total {m.counters() - c0}")
            assert not bad, format_mismatches(bad) + "\n" + diag(m, a)
            assert d.share() >= 0.95, f"encrypted large files: {d}\n{diag(m, a)}"
    finally:
        a.stop()


# =============================================================================================
# upstream `weed mount -rdma.sidecar=` against the agent's sidecar API
# =============================================================================================

def _weed_mount_help() -> str:
    r = subprocess.run([WEED_BIN, "mount", "-h"], capture_output=True, text=True, timeout=60)
    return r.stdout + r.stderr


def _sidecar_reads(a: Agent) -> dict:
    return by_label(a.metrics(), "seaweed_agent_sidecar_reads_total", "result")


@pytest.fixture(scope="module")
def sidecar_files(cluster, corpus):
    """Single-chunk and multi-chunk files of the corpus (and a gzip one), with their chunks."""
    rels = ["sizes/s131073", "chunk/c1048576", "multi/m5", "multi/m9-maxmb2", "text/t1.txt", "big/b40"]
    out = {}
    for rel in rels:
        f = corpus.files[f"{corpus.root}/{rel}"]
        out[f.path] = (f, cluster.chunks_of(f.path))
    assert len(out[f"{corpus.root}/sizes/s131073"][1]) == 1
    assert len(out[f"{corpus.root}/multi/m5"][1]) > 1
    return out


def test_sidecar_api_as_upstream_mount_calls_it(cluster, agent, sidecar_files):
    """What upstream weed mount (weed/mount/rdma_client.go, sidecar mode) does per FUSE read:
    GET /health (status "healthy", rdma.enabled) once, then per chunk piece
    GET /read?file_id=FID&offset=O&size=N&volume_server=http://HOST:PORT, bytes = body. Reassembled
    pieces must equal the filer's bytes; the agent must count the reads."""
    r = agent.sidecar("/health")
    assert r.status == 200, r.body
    h = r.json()
    assert h["status"] == "healthy" and h["rdma"]["enabled"] is True, h
    before = _sidecar_reads(agent)
    vs = "http://" + volume_server_key(cluster)
    requests = 0
    rdma_used = set()
    for path, (f, chunks) in sidecar_files.items():
        truth = cluster.get(path)
        assert truth == f.blob.bytes(), f"filer ground truth differs for {path}"
        got = bytearray(len(truth))
        window = 128 * 1024 + 3  # an odd FUSE-sized window, pieces never cross a chunk
        for ch in chunks:
            coff, csize = ch.get("offset", 0), ch["size"]
            o = 0
            while o < csize:
                n = min(window, csize - o)
                q = urllib.parse.urlencode({"file_id": ch["file_id"], "offset": o, "size": n,
                                            "volume_server": vs})
                resp = agent.sidecar(f"/read?{q}")
                requests += 1
                assert resp.status == 200, f"{path} {ch['file_id']} +{o}: HTTP {resp.status} {resp.body[:200]!r}"
                rdma_used.add(resp.headers.get("x-rdma-used"))
                assert len(resp.body) == n, f"{path} {ch['file_id']} +{o}: {len(resp.body)} bytes, asked {n}"
                got[coff + o:coff + o + n] = resp.body
                o += n
        if bytes(got) != truth:
            from harness import first_difference
            d = first_difference(bytes(got), truth)
            raise AssertionError(f"{path}: sidecar bytes differ from the filer at offset {d}: "
                                 f"got {bytes(got[d:d + 16]).hex()} expected {truth[d:d + 16].hex()}")
    after = _sidecar_reads(agent)
    ok = after.get("ok", 0) - before.get("ok", 0)
    stats = agent.sidecar("/stats").json()
    STATS.notes.append(f"sidecar API: {requests} upstream-style /read requests over {len(sidecar_files)} "
                       f"files byte-exact; agent counted ok={int(ok)}; X-RDMA-Used values {sorted(map(str, rdma_used))}"
                       f"; /stats counters: " + ", ".join(f"{k}={v}" for k, v in stats["counters"].items()
                                                           if "sidecar" in k))
    assert ok == requests, f"agent counted {ok} ok sidecar reads for {requests} requests: {after}"
    # upstream tryRDMARead uses a sidecar body only when X-RDMA-Used is "true"; anything else makes
    # it discard the bytes and read the chunk again over HTTP.
    assert rdma_used == {"true"}, f"X-RDMA-Used values {rdma_used}"


def test_sidecar_decimal_form_as_upstream_rdma_client_sends_it(cluster, agent, sidecar_files):
    """weed/mount/rdma_client.go's sequence: GET /health (status "healthy", rdma.enabled), then per
    read GET /read?volume=V&needle=N&cookie=C&offset=O&size=S with decimal numbers; the upstream
    sidecar also takes volume_server= and defaults size to 4096. Every piece byte-exact."""
    r = agent.sidecar("/health")
    assert r.status == 200 and r.json()["status"] == "healthy" and r.json()["rdma"]["enabled"] is True
    vs = "http://" + volume_server_key(cluster)
    pieces = 0
    for path, (f, chunks) in sidecar_files.items():
        truth = f.blob.bytes()
        for n_chunk, ch in enumerate(chunks):
            vid, rest = ch["file_id"].split(",")
            needle, cookie = int(rest[:-8], 16), int(rest[-8:], 16)
            coff, csize = ch.get("offset", 0), ch["size"]
            for o, n, with_vs in ((0, None, False), (1, 4096, True), (max(0, csize - 5000), 5000, False),
                                  (csize // 2, 131072, n_chunk % 2 == 0)):
                q = f"volume={vid}&needle={needle}&cookie={cookie}&offset={o}"
                if n is not None:
                    q += f"&size={n}"
                if with_vs:
                    q += "&" + urllib.parse.urlencode({"volume_server": vs})
                resp = agent.sidecar(f"/read?{q}")
                pieces += 1
                want = truth[coff + o:coff + min(csize, o + (n or 4096))]
                assert resp.status == 200, f"{path} {q}: HTTP {resp.status} {resp.body[:200]!r}"
                assert resp.body == want, f"{path} {q}: {len(resp.body)} bytes differ from the file's {len(want)}"
    STATS.notes.append(f"sidecar decimal form: {pieces} /read requests byte-exact")


def test_upstream_weed_mount_through_sidecar(cluster, agent, sidecar_files, tmp_path):
    help_text = _weed_mount_help()
    if "-rdma.sidecar" not in help_text:
        ver = subprocess.run([WEED_BIN, "version"], capture_output=True, text=True, timeout=30).stdout.strip()
        msg = (f"{WEED_BIN} ({ver}) `weed mount -h` has no -rdma.enabled/-rdma.sidecar flags: this "
               f"upstream build cannot read through a sidecar")
        STATS.notes.append("upstream weed mount: SKIPPED: " + msg)
        pytest.skip(msg)
    mp = Path(tempfile.mkdtemp(prefix="swinteg-%d-weedmnt-" % os.getpid()))
    before = _sidecar_reads(agent)
    p = Proc("weed-mount", [WEED_BIN, "mount", f"-filer={cluster.filer_addr}", f"-dir={mp}", "-readOnly",
                            "-rdma.enabled=true", f"-rdma.sidecar=127.0.0.1:{agent.sidecar_port}",
                            "-rdma.fallback=true", f"-cacheDir={tmp_path}"],
             cluster.dir / "weed-mount.log")
    try:
        def mounted():
            if not p.alive():
                raise Fatal(f"weed mount exited {p.returncode}:\n{p.tail()}")
            return is_mounted(mp)
        wait_until(f"weed mount at {mp}", mounted, 60, diag=p.tail)
        bad = []
        served = {}
        for path, (f, chunks) in sidecar_files.items():
            s0 = _sidecar_reads(agent).get("ok", 0)
            n, mm = compare_stream(path, read_file_blocks(mp / path.lstrip("/"), MiB), f.blob)
            if mm:
                bad.append(str(mm))
            served[path] = _sidecar_reads(agent).get("ok", 0) - s0
        after = _sidecar_reads(agent)
        STATS.notes.append("upstream weed mount: sidecar reads per file: " +
                           ", ".join(f"{k}={int(v)}" for k, v in served.items()) + f"; totals {after}")
        assert not bad, "\n".join(bad) + "\n" + p.tail()
        assert after.get("ok", 0) > before.get("ok", 0), "upstream weed mount never called the sidecar"
    finally:
        if is_mounted(mp):
            subprocess.run(["fusermount3", "-u", str(mp)], capture_output=True, timeout=30)
        p.stop(timeout=10)
        if is_mounted(mp):
            lazy_unmount(mp)
        with contextlib.suppress(OSError):
            os.rmdir(mp)

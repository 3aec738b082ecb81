"""Fixtures for the seaweed-rdma-agent integration tests, on the shared integration harness
(integration/harness/: the `weed server` cluster, processes in their own groups, cleanup also
at interpreter exit): an agent process on the cluster's volume dir, and HTTP helpers.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import harness
from harness import Proc, free_port  # noqa: F401  (free_port is re-exported for the tests)

AGENT_BIN = os.environ.get("SEAWEED_AGENT_BIN") or str(harness.REPO / "build" / "bin" / "seaweed-rdma-agent")


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def http_get(url: str, headers: dict | None = None, timeout: float = 30) -> tuple[int, bytes, dict]:
    """(status, body, headers with their original spelling)."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


class Cluster(harness.Cluster):
    """The harness's `weed server`, with the names the agent tests use."""

    def __init__(self):
        super().__init__(name="agent", volume_size_limit_mb=64)

    def start(self) -> "Cluster":
        super().start()
        return self

    @property
    def volume_port(self) -> int:
        return self.volume_ports[0]

    @property
    def volume(self) -> str:
        return f"{self.host}:{self.volume_port}"

    @property
    def data(self) -> Path:
        return self.dir / "data"

    def put(self, path: str, data, max_mb: int | None = None, **kw):
        if max_mb:
            kw["maxMB"] = max_mb
        return super().put(path, data, **kw)

    def chunks(self, path: str) -> list[dict]:
        return sorted(self.chunks_of(path), key=lambda c: int(c.get("offset", 0)))

    def volume_get(self, fid: str, headers: dict | None = None, read_deleted: bool = False) -> tuple[int, bytes]:
        q = "?readDeleted=true" if read_deleted else ""
        code, body, _ = http_get(f"http://{self.volume}/{fid}{q}", headers=headers)
        return code, body

    def vacuum(self):
        code, body, _ = http_get(f"{self.master_url}/vol/vacuum?garbageThreshold=0.0001", timeout=120)
        assert code == 200, body


class Agent:
    """A seaweed-rdma-agent serving the cluster's volume dir."""

    def __init__(self, cluster: Cluster, port: int | None = None, env: dict | None = None,
                 extra: list[str] | None = None, name: str = "agent"):
        self.cluster = cluster
        self.port = port or free_port()
        self.sidecar_port = free_port()
        self.metrics_port = free_port()
        self.env = env
        self.extra = extra or []
        self.name = name
        self.proc: Proc | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.cluster.dir / f"{self.name}.log"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def start(self, wait: bool = True):
        if self.proc:
            self.proc.stop(timeout=1)  # reaps a killed predecessor and drops its cleanup hook
        self.proc = Proc(self.name, [AGENT_BIN, f"-dir={self.cluster.data}", f"-volumeServer={self.cluster.volume}",
                                     "-ip=127.0.0.1", f"-port={self.port}", f"-sidecar.port={self.sidecar_port}",
                                     f"-metricsPort={self.metrics_port}", "-refreshMs=300", *self.extra],
                         self.log_path, env=self.env)
        if wait:
            deadline = time.time() + 20
            while time.time() < deadline:
                if not self.proc.alive():
                    raise RuntimeError("agent exited:\n" + self.log_text()[-3000:])
                if run_cli(["ping", f"-agent={self.address}", "-timeoutMs=1000"]).returncode == 0:
                    return self
                time.sleep(0.2)
            raise RuntimeError("agent did not answer ping:\n" + self.log_text()[-3000:])
        return self

    def stop(self):
        if self.proc:
            self.proc.stop(timeout=3)

    def read(self, fid: str, offset: int | None = None, size: int | None = None, raw: bool = False,
             env: dict | None = None, timeout_ms: int = 5000) -> subprocess.CompletedProcess:
        args = ["read", f"-agent={self.address}", f"-fid={fid}", f"-timeoutMs={timeout_ms}"]
        if offset is not None:
            args.append(f"-offset={offset}")
        if size is not None:
            args.append(f"-size={size}")
        if raw:
            args.append("-raw")
        return run_cli(args, env=env)

    def diagnose(self, r: subprocess.CompletedProcess) -> str:
        """Failure text: the client's stderr plus whether the agent still runs and its log tail."""
        state = "running" if self.proc and self.proc.alive() else f"exited rc={self.proc.returncode}"
        return f"{r.stderr.decode(errors='replace')}\nagent {state}; log tail:\n{self.log_text()[-2500:]}"

    def sidecar(self, path: str) -> tuple[int, bytes, dict]:
        return http_get(f"http://127.0.0.1:{self.sidecar_port}{path}")


def run_cli(args: list[str], env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run([AGENT_BIN, *args], capture_output=True, env=full_env, timeout=timeout)


def read_via_http_keepalive(host: str, port: int, fids: list[str], rounds: int) -> tuple[int, float]:
    c = http.client.HTTPConnection(host, port, timeout=60)
    n = 0
    t = time.perf_counter()
    for _ in range(rounds):
        for f in fids:
            c.request("GET", "/" + f)
            n += len(c.getresponse().read())
    dt = time.perf_counter() - t
    c.close()
    return n, dt

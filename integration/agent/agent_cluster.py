"""Self-contained fixtures for the seaweed-rdma-agent integration tests: a `weed server` on free
loopback ports in a temp dir, an agent process on its volume dir, and HTTP helpers.

Every process is started in its own session and killed with its group on cleanup (also at
interpreter exit), so a failed test leaves nothing running.
"""

from __future__ import annotations

import atexit
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WEED_BIN = os.environ.get("WEED_BIN") or str(REPO / ".venv" / "bin" / "weed")
AGENT_BIN = os.environ.get("SEAWEED_AGENT_BIN") or str(REPO / "build" / "bin" / "seaweed-rdma-agent")
KEEP = os.environ.get("INTEG_KEEP", "") not in ("", "0")

_live: list["Proc"] = []


def _cleanup_all():
    for p in list(_live):
        p.kill()


atexit.register(_cleanup_all)


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port(plus_grpc: bool = False) -> int:
    """A free port (and, for weed components, port+10000 free too: their gRPC port)."""
    for _ in range(200):
        p = random.randint(20000, 29999 if plus_grpc else 60000)
        if port_free(p) and (not plus_grpc or port_free(p + 10000)):
            return p
    raise RuntimeError("no free port")


class Proc:
    def __init__(self, args: list[str], log: Path, env: dict | None = None):
        self.args = args
        self.log = log
        self._logf = open(log, "ab")
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        self.p = subprocess.Popen(args, stdout=self._logf, stderr=subprocess.STDOUT, env=full_env,
                                  start_new_session=True)
        _live.append(self)

    @property
    def pid(self) -> int:
        return self.p.pid

    def alive(self) -> bool:
        return self.p.poll() is None

    def signal(self, sig: int):
        if self.alive():
            self.p.send_signal(sig)

    def wait(self, timeout: float) -> int | None:
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.alive():
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.p.wait(10)
        if self in _live:
            _live.remove(self)
        self._logf.close()

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


def http_get(url: str, headers: dict | None = None, timeout: float = 30) -> tuple[int, bytes, dict]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


class Cluster:
    """`weed server` (master + volume + filer) in a temp dir."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix=f"agentinteg-{os.getpid()}-"))
        self.data = self.dir / "data"
        self.data.mkdir()
        self.master_port = free_port(True)
        self.volume_port = free_port(True)
        self.filer_port = free_port(True)
        self.proc: Proc | None = None

    @property
    def volume(self) -> str:
        return f"127.0.0.1:{self.volume_port}"

    @property
    def filer(self) -> str:
        return f"http://127.0.0.1:{self.filer_port}"

    def start(self):
        self.proc = Proc([WEED_BIN, "server", f"-dir={self.data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                          "-filer", f"-master.port={self.master_port}", f"-volume.port={self.volume_port}",
                          f"-filer.port={self.filer_port}", "-master.volumeSizeLimitMB=64", "-volume.max=100",
                          "-master.telemetry=false"], self.dir / "weed.log")
        deadline = time.time() + 60
        while time.time() < deadline:
            if not self.proc.alive():
                raise RuntimeError("weed server exited:\n" + self.proc.log_text()[-3000:])
            try:
                code, _, _ = http_get(self.filer + "/", timeout=2)
                vcode, _, _ = http_get(f"http://{self.volume}/status", timeout=2)
                if code < 500 and vcode == 200:
                    # The first upload also needs volumes to be growable: retry until it works.
                    self.put("/probe/ready.txt", b"ready", retries=60)
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("weed server did not come up:\n" + self.proc.log_text()[-3000:])

    def stop(self):
        if self.proc:
            self.proc.kill()
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)

    def put(self, path: str, data: bytes, max_mb: int | None = None, content_type: str | None = None,
            retries: int = 5) -> dict:
        url = self.filer + path + (f"?maxMB={max_mb}" if max_mb else "")
        last = None
        for _ in range(retries):
            req = urllib.request.Request(url, data=data, method="PUT")
            if content_type:
                req.add_header("Content-Type", content_type)
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    return json.loads(r.read() or b"{}")
            except (urllib.error.URLError, OSError) as e:
                last = e
                time.sleep(0.5)
        raise RuntimeError(f"upload {path} failed: {last}")

    def delete(self, path: str):
        req = urllib.request.Request(self.filer + path, method="DELETE")
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()

    def chunks(self, path: str) -> list[dict]:
        code, body, _ = http_get(self.filer + path + "?metadata=true")
        assert code == 200, body
        chunks = json.loads(body).get("chunks") or []
        return sorted(chunks, key=lambda c: int(c.get("offset", 0)))

    def volume_get(self, fid: str, headers: dict | None = None, read_deleted: bool = False) -> tuple[int, bytes]:
        q = "?readDeleted=true" if read_deleted else ""
        code, body, _ = http_get(f"http://{self.volume}/{fid}{q}", headers=headers)
        return code, body

    def vacuum(self):
        code, body, _ = http_get(f"http://127.0.0.1:{self.master_port}/vol/vacuum?garbageThreshold=0.0001",
                                 timeout=120)
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

    def start(self, wait: bool = True):
        self.proc = Proc([AGENT_BIN, f"-dir={self.cluster.data}", f"-volumeServer={self.cluster.volume}",
                          "-ip=127.0.0.1", f"-port={self.port}", f"-sidecar.port={self.sidecar_port}",
                          f"-metricsPort={self.metrics_port}", "-refreshMs=300", *self.extra],
                         self.cluster.dir / f"{self.name}.log", env=self.env)
        if wait:
            deadline = time.time() + 20
            while time.time() < deadline:
                if not self.proc.alive():
                    raise RuntimeError("agent exited:\n" + self.proc.log_text()[-3000:])
                if run_cli(["ping", f"-agent={self.address}", "-timeoutMs=1000"]).returncode == 0:
                    return self
                time.sleep(0.2)
            raise RuntimeError("agent did not answer ping:\n" + self.proc.log_text()[-3000:])
        return self

    def stop(self):
        if self.proc:
            self.proc.kill()

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
        state = "running" if self.proc and self.proc.alive() else f"exited rc={self.proc.p.returncode}"
        return f"{r.stderr.decode(errors='replace')}\nagent {state}; log tail:\n{self.proc.log_text()[-2500:]}"

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

"""Fixtures for the seaweed-rdma-agent integration tests, on the shared integration harness
(integration/harness/: the `weed server` cluster, processes in their own groups, cleanup also
at interpreter exit): an agent process on the cluster's volume dir, and HTTP helpers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
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

    def __init__(self, name: str = "agent", **kw):
        super().__init__(name=name, volume_size_limit_mb=64, **kw)

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
                 extra: list[str] | None = None, name: str = "agent", ip: str | None = "127.0.0.1"):
        self.cluster = cluster
        self.ip = ip  # None: no -ip flag (the agent's default, 127.0.0.1)
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
        ip = [f"-ip={self.ip}"] if self.ip else []
        self.proc = Proc(self.name, [AGENT_BIN, f"-dir={self.cluster.data}", f"-volumeServer={self.cluster.volume}",
                                     *ip, f"-port={self.port}", f"-sidecar.port={self.sidecar_port}",
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
             env: dict | None = None, timeout_ms: int = 5000, extra: list[str] | None = None
             ) -> subprocess.CompletedProcess:
        args = ["read", f"-agent={self.address}", f"-fid={fid}", f"-timeoutMs={timeout_ms}", *(extra or [])]
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

    def sidecar(self, path: str, headers: dict | None = None) -> tuple[int, bytes, dict]:
        return http_get(f"http://127.0.0.1:{self.sidecar_port}{path}", headers=headers)

    def metrics(self) -> str:
        code, body, _ = http_get(f"http://127.0.0.1:{self.metrics_port}/metrics")
        assert code == 200, body
        return body.decode()

    def counter(self, name_and_labels: str) -> float:
        """Value of one Prometheus sample, e.g. 'seaweed_agent_requests_total{result="ok"}' (0 if absent)."""
        for line in self.metrics().splitlines():
            if line.startswith(name_and_labels + " "):
                return float(line.rsplit(" ", 1)[1])
        return 0.0


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


# ---------------------------------------------------------------------------------------------
# read tokens, listeners, memory, gzip needles
# ---------------------------------------------------------------------------------------------

def _b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def mint_jwt(key: str, fid: str, exp: int | None, alg: str = "HS256") -> str:
    """A read token as a volume server expects it (written here independently of the C++ code)."""
    header = _b64url(json.dumps({"alg": alg, "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"fid": fid} if exp is None else {"fid": fid, "exp": exp}
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    sig = hmac.new(key.encode(), f"{header}.{payload}".encode(), digest).digest()
    return f"{header}.{payload}.{_b64url(sig)}"


def listeners_of(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state that process `pid` holds (`ss -ltnp`)."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        if f"pid={pid}," not in line:
            continue
        local = line.split()[3]  # 127.0.0.1:18515, [::1]:80, *:80
        addr, port = local.rsplit(":", 1)
        found.append((addr.strip("[]"), int(port)))
    return sorted(found)


def vm_hwm_kib(pid: int) -> int:
    """Peak resident set size of a process (VmHWM in /proc/PID/status), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for {pid}")


def upload_gzip_needle(cluster: "Cluster", gz: bytes, collection: str = "") -> str:
    """Stores `gz` as a gzip needle (flag 0x01), the way an uploader with Content-Encoding: gzip
    does: the volume server keeps the bytes as sent. Returns the fid."""
    assign = cluster.grpc.assign(collection=collection) if collection else cluster.grpc.assign()
    boundary = "----agent" + os.urandom(8).hex()
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bomb.txt\"\r\n"
            f"Content-Type: text/plain\r\nContent-Encoding: gzip\r\n\r\n").encode() + gz + \
        f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    r = harness.http_request(f"http://{assign.location.url}/{assign.file_id}", "POST", body=body, headers=headers)
    assert r.status in (200, 201), (r.status, r.body[:300])
    return assign.file_id

"""A throw-away SeaweedFS cluster (`weed server`, extra volume servers, extra processes) on free
loopback ports in a temp dir, with the filer HTTP/gRPC helpers that fill it."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .content import Blob, BytesBlob
from .env import KEEP, MiB, TMP_PREFIX, WEED_BIN, HarnessError
from .filer_grpc import FilerGrpc, split_path
from .net import Response, _query, _remove_weed_sockets, free_port_pair, http_request, http_stream, quote_path
from .procs import Proc, register_cleanup, unregister_cleanup, shielded, sweep_stale

class Cluster:
    """A throw-away SeaweedFS cluster on loopback. Use as a context manager.

    security_toml: text written as security.toml into the cluster's directory before anything
    starts; every weed process the cluster starts runs there, and weed reads ./security.toml
    (e.g. "[jwt.signing.read]\nkey = \"...\"\n" to require read tokens)."""

    def __init__(self, encrypt: bool = False, filer_args: Iterable[str] = (),
                 server_args: Iterable[str] = (), extra_volumes: int = 0,
                 volume_size_limit_mb: int = 64, volume_max: int = 100, name: str = "cluster",
                 start_timeout: float = 90.0, security_toml: str | None = None):
        self.encrypt = encrypt
        self.filer_args = list(filer_args)
        self.server_args = list(server_args)
        self.n_extra_volumes = extra_volumes
        self.volume_size_limit_mb = volume_size_limit_mb
        self.volume_max = volume_max
        self.name = name
        self.start_timeout = start_timeout
        self.security_toml = security_toml
        self.dir: Path | None = None
        self.server: Proc | None = None
        self.procs: list[Proc] = []
        self.volume_ports: list[int] = []
        self._ports: list[int] = []
        self._grpc: FilerGrpc | None = None
        self._cleanup_fn = None
        self.host = "127.0.0.1"  # where the servers listen; a subclass may bind elsewhere
        self.launch_prefix: list[str] = []  # e.g. ["ip", "netns", "exec", NS] to run it in a namespace

    # -- addresses
    @property
    def filer_addr(self) -> str:
        """host:httpPort, what -filer= takes (gRPC is +10000)."""
        return f"{self.host}:{self.filer_port}"

    @property
    def filer_grpc_addr(self) -> str:
        return f"{self.host}:{self.filer_port + 10000}"

    @property
    def filer_url(self) -> str:
        return f"http://{self.host}:{self.filer_port}"

    @property
    def master_url(self) -> str:
        return f"http://{self.host}:{self.master_port}"

    @property
    def master_addr(self) -> str:
        return f"{self.host}:{self.master_port}"

    def volume_url(self, i: int = 0) -> str:
        return f"http://{self.host}:{self.volume_ports[i]}"

    # -- lifecycle
    def __enter__(self) -> "Cluster":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop(failed=exc[0] is not None)

    def start(self) -> None:
        sweep_stale()
        self.dir = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + self.name + "-"))
        (self.dir / "logs").mkdir()
        (self.dir / "data").mkdir()
        if self.security_toml is not None:
            (self.dir / "security.toml").write_text(self.security_toml)
        self._cleanup_fn = register_cleanup(lambda: self.stop())
        self.master_port = free_port_pair()
        self.volume_ports = [free_port_pair()]
        self.filer_port = free_port_pair()
        self._ports = [self.master_port, self.volume_ports[0], self.filer_port]
        argv = [*self.launch_prefix, WEED_BIN, f"-logdir={self.dir / 'logs'}", "server",
                f"-dir={self.dir / 'data'}", f"-ip={self.host}", f"-ip.bind={self.host}",
                "-master=true", "-volume=true", "-filer",
                "-s3=false", "-webdav=false", "-sftp=false", "-iam=false",
                "-mq.broker=false", "-mq.agent=false",
                f"-master.port={self.master_port}", f"-volume.port={self.volume_ports[0]}",
                f"-filer.port={self.filer_port}",
                f"-master.volumeSizeLimitMB={self.volume_size_limit_mb}",
                f"-volume.max={self.volume_max}", "-master.telemetry=false",
                "-volume.preStopSeconds=0",
                f"-filer.localSocket={self.dir / 'filer.sock'}"]
        if self.encrypt:
            argv.append("-filer.encryptVolumeData")
        argv += self.server_args
        argv += [a if a.startswith("-filer.") else "-filer." + a.lstrip("-") for a in self.filer_args]
        try:
            self.server = Proc("weed-server", argv, self.dir / "weed-server.log", cwd=str(self.dir))
            self.procs.append(self.server)
            deadline = time.monotonic() + self.start_timeout
            self._wait_master(deadline, expect_nodes=1)
            for _ in range(self.n_extra_volumes):
                self.add_volume_server(wait=False)
            self._wait_ready(deadline)
        except BaseException:
            print(self.logs_tail(), file=sys.stderr)
            self.stop(failed=True)
            raise

    def _wait_ready(self, deadline: float) -> None:
        """Master with every volume server registered, each volume server, the filer, and a write."""
        self._wait_master(deadline, expect_nodes=len(self.volume_ports))
        for i in range(len(self.volume_ports)):
            self._wait_http(self.volume_url(i) + "/status", deadline, "volume server")
        self._wait_http(self.filer_url + "/?pretty=y", deadline, "filer")
        self._wait_write_path(deadline)

    def stop(self, failed: bool = False) -> None:
        with shielded():
            self._stop(failed)

    def _stop(self, failed: bool) -> None:
        if self._cleanup_fn:
            unregister_cleanup(self._cleanup_fn)
            self._cleanup_fn = None
        if self._grpc:
            with contextlib.suppress(Exception):
                self._grpc.close()
            self._grpc = None
        for p in reversed(self.procs):
            p.stop(timeout=3)
        self.procs.clear()
        _remove_weed_sockets(self._ports + [p + 10000 for p in self._ports])
        if self.dir and self.dir.exists():
            if KEEP or failed and os.environ.get("INTEG_KEEP_ON_FAILURE"):
                print(f"harness: kept {self.dir}", file=sys.stderr)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def logs_tail(self, lines: int = 40) -> str:
        out = []
        for p in self.procs:
            out.append(f"----- {p.name} ({p.log_path}) rc={p.returncode} -----\n{p.tail(lines)}")
        return "\n".join(out)

    def _check_alive(self) -> None:
        for p in self.procs:
            if not p.alive():
                raise HarnessError(f"{p.name} exited with {p.returncode}:\n{p.tail()}")

    def _poll(self, deadline: float, what: str, fn: Callable[[], bool]) -> None:
        last = None
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if fn():
                    return
            except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
                last = e
            time.sleep(0.1)
        raise HarnessError(f"timed out waiting for {what} (last error: {last!r})")

    def _wait_master(self, deadline: float, expect_nodes: int) -> None:
        def ok():
            r = http_request(self.master_url + "/cluster/status", timeout=5)
            if r.status != 200 or not r.json().get("IsLeader"):
                return False
            topo = http_request(self.master_url + "/dir/status", timeout=5).json()["Topology"]
            nodes = [n for dc in topo.get("DataCenters") or [] for rk in dc.get("Racks") or []
                     for n in rk.get("DataNodes") or []]
            return len(nodes) >= expect_nodes
        self._poll(deadline, f"master with {expect_nodes} volume server(s)", ok)

    def _wait_http(self, url: str, deadline: float, what: str) -> None:
        self._poll(deadline, f"{what} at {url}",
                   lambda: http_request(url, timeout=5).status == 200)

    def _wait_write_path(self, deadline: float) -> None:
        def ok():
            r = http_request(self.master_url + "/dir/assign", timeout=10)
            if r.status != 200 or "fid" not in r.json():
                return False
            probe = f"/.integ-probe/{uuid.uuid4().hex}"
            data = b"probe " + os.urandom(16).hex().encode()
            if self.put(probe, data, check=False).status not in (200, 201):
                return False
            good = self.get(probe) == data
            self.delete("/.integ-probe", recursive=True)
            return good
        self._poll(deadline, "filer write+read path", ok)

    # -- restarting the `weed server` process (same argv: same ports, data dir and filer store)
    def stop_server(self, timeout: float = 30.0) -> int | None:
        """Stops the `weed server` process (SIGTERM; SIGKILL after `timeout`) and keeps everything
        needed to start it again with start_server(). Returns its exit code."""
        p = self.server
        if p is None:
            raise HarnessError("no weed server process to stop")
        rc = p.stop(signal.SIGTERM, timeout=timeout)
        with contextlib.suppress(ValueError):
            self.procs.remove(p)
        own = [self.master_port, self.volume_ports[0], self.filer_port]
        _remove_weed_sockets(own + [q + 10000 for q in own])
        return rc

    def start_server(self, timeout: float | None = None) -> None:
        """Starts `weed server` again with the argv of the stopped one and waits until the master,
        the volume servers, the filer and the write path answer."""
        if self.server is not None and self.server.alive():
            raise HarnessError("weed server is still running")
        argv = self.server.argv
        self.server = Proc("weed-server", argv, self.dir / "weed-server.log", cwd=str(self.dir))
        self.procs.insert(0, self.server)
        deadline = time.monotonic() + (timeout or self.start_timeout)
        try:
            self._wait_ready(deadline)
        except BaseException:
            print(self.logs_tail(), file=sys.stderr)
            raise

    def restart(self, stop_timeout: float = 30.0) -> None:
        """stop_server() + start_server(): the same process argv on the same ports and data dir."""
        self.stop_server(stop_timeout)
        self.start_server()

    # -- extra processes (agent, more volume servers, ...)
    def spawn(self, name: str, argv: list, env: dict | None = None, cwd: str | None = None) -> Proc:
        """Starts an extra process that lives as long as the cluster; log in <dir>/<name>.log."""
        p = Proc(name, argv, self.dir / f"{name}.log", env=env, cwd=cwd or str(self.dir))
        self.procs.append(p)
        return p

    def add_volume_server(self, wait: bool = True, extra_args: Iterable[str] = ()) -> int:
        i = len(self.volume_ports)
        port = free_port_pair()
        self._ports.append(port)
        self.volume_ports.append(port)
        vdir = self.dir / f"vol{i}"
        vdir.mkdir()
        self.spawn(f"weed-volume{i}", [
            WEED_BIN, f"-logdir={self.dir / 'logs'}", "volume", f"-dir={vdir}", "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1", f"-port={port}", f"-master={self.master_addr}",
            f"-max={self.volume_max}", "-preStopSeconds=0", *extra_args])
        if wait:
            deadline = time.monotonic() + self.start_timeout
            self._wait_master(deadline, expect_nodes=len(self.volume_ports))
            self._wait_http(self.volume_url(i) + "/status", deadline, "volume server")
        return i

    # -- gRPC
    @property
    def grpc(self) -> FilerGrpc:
        if self._grpc is None:
            self._grpc = FilerGrpc(self.filer_grpc_addr)
        return self._grpc

    # -- filer HTTP API
    def url(self, path: str, **query) -> str:
        return self.filer_url + quote_path(path) + _query(query)

    def put(self, path: str, data: bytes | Blob, check: bool = True, content_type: str | None = None,
            multipart: bool = False, filename: str | None = None, **query) -> Response:
        """Uploads a file. PUT with a raw body by default; POST multipart when multipart=True or
        saveInside is given (the filer honours saveInside only for POST). Query keys are passed
        as is: maxMB, offset, op='append', saveInside, mode (octal string), collection, ..."""
        blob = data if isinstance(data, Blob) else BytesBlob(data)
        if "mode" in query and isinstance(query["mode"], int):
            query["mode"] = format(query["mode"], "o")
        if query.get("saveInside"):
            multipart = True
        if multipart:
            directory, name = split_path(path)
            boundary = "----integ" + uuid.uuid4().hex
            fname = filename or name
            ctype = content_type or "application/octet-stream"
            head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                    f"filename=\"{fname}\"\r\nContent-Type: {ctype}\r\n\r\n").encode()
            tail = f"\r\n--{boundary}--\r\n".encode()

            def body():
                yield head
                yield from blob.iter_blocks()
                yield tail
            headers = {"Content-Type": f"multipart/form-data; boundary={boundary}",
                       "Content-Length": str(len(head) + blob.size + len(tail))}
            r = http_request(self.url(path, **query), "POST", body=body(), headers=headers, timeout=600)
        else:
            headers = {"Content-Length": str(blob.size)}
            if content_type:
                headers["Content-Type"] = content_type
            body = blob.bytes() if blob.size <= 4 * MiB else blob.iter_blocks()
            r = http_request(self.url(path, **query), "PUT", body=body, headers=headers, timeout=600)
        if check and r.status not in (200, 201):
            raise HarnessError(f"upload {path} {query}: HTTP {r.status}: {r.body[:500]!r}")
        return r

    def get(self, path: str, range_: tuple[int, int] | None = None, **query) -> bytes:
        headers = {}
        if range_:
            headers["Range"] = f"bytes={range_[0]}-{range_[1] - 1}"
        r = http_request(self.url(path, **query), headers=headers, timeout=600)
        if r.status not in (200, 206):
            raise HarnessError(f"GET {path}: HTTP {r.status}: {r.body[:300]!r}")
        return r.body

    def get_stream(self, path: str) -> Iterator[bytes]:
        return http_stream(self.url(path))

    def delete(self, path: str, recursive: bool = False) -> int:
        q = {"recursive": "true", "ignoreRecursiveError": "true"} if recursive else {}
        return http_request(self.url(path, **q), "DELETE").status

    def mkdir(self, path: str, mode: int = 0o755) -> None:
        """Creates a directory (and missing parents) via gRPC CreateEntry with ModeDir|mode."""
        self.grpc.mkdirs(path, mode)

    def mkdir_http(self, path: str) -> Response:
        """The filer's own way: POST to a path ending in '/' without a body."""
        return http_request(self.url(path.rstrip("/") + "/"), "POST", body=b"",
                            headers={"Content-Length": "0"})

    def symlink(self, path: str, target: str) -> None:
        """The filer HTTP API cannot create symlinks; CreateEntry with ModeSymlink|0777 can."""
        self.grpc.symlink(path, target)

    def metadata(self, path: str, resolve_manifest: bool = False) -> dict:
        q = {"metadata": "true"}
        if resolve_manifest:
            q["resolveManifest"] = "true"
        r = http_request(self.url(path, **q), headers={"Accept": "application/json"})
        if r.status != 200:
            raise HarnessError(f"metadata {path}: HTTP {r.status}: {r.body[:300]!r}")
        return r.json()

    def list(self, directory: str, limit: int = 1000) -> list[dict]:
        """All entries of a directory via the HTTP listing, paging with lastFileName/limit."""
        out: list[dict] = []
        last = ""
        d = directory.rstrip("/") + "/"
        while True:
            q = {"limit": limit}
            if last:
                q["lastFileName"] = last
            r = http_request(self.url(d, **q), headers={"Accept": "application/json"})
            if r.status != 200:
                raise HarnessError(f"list {directory}: HTTP {r.status}: {r.body[:300]!r}")
            j = r.json()
            entries = j.get("Entries") or []
            out += entries
            if not entries or not j.get("ShouldDisplayLoadMore"):
                return out
            last = j.get("LastFileName") or entries[-1]["FullPath"].rsplit("/", 1)[1]

    # -- volume server direct
    def upload_needle(self, data: bytes, assign=None, name: str = "n.bin",
                      content_type: str = "application/octet-stream") -> str:
        """Assigns a fid (gRPC AssignVolume) and POSTs `data` to the volume server. Returns the fid."""
        a = assign or self.grpc.assign()
        boundary = "----integ" + uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                f"Content-Type: {content_type}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        if a.auth:
            headers["Authorization"] = "Bearer " + a.auth
        r = http_request(f"http://{a.location.url}/{a.file_id}", "POST", body=body, headers=headers)
        if r.status not in (200, 201):
            raise HarnessError(f"needle upload {a.file_id}: HTTP {r.status}: {r.body[:300]!r}")
        return a.file_id

    def chunks_of(self, path: str, resolve_manifest: bool = False) -> list[dict]:
        return self.metadata(path, resolve_manifest).get("chunks") or []

    def describe_offset(self, path: str, off: int) -> str:
        """Which chunk(s) cover `off` (for failure messages)."""
        try:
            chunks = self.chunks_of(path, resolve_manifest=True)
        except Exception as e:  # noqa: BLE001
            return f"(no chunk info: {e})"
        hits = [c for c in chunks if c.get("offset", 0) <= off < c.get("offset", 0) + c.get("size", 0)]
        return (f"{len(chunks)} chunks; covering offset {off}: " +
                (", ".join(f"{c.get('file_id')}@[{c.get('offset', 0)},+{c.get('size')}) "
                           f"ts={c.get('modified_ts_ns')} gz={c.get('is_compressed', False)} "
                           f"enc={bool(c.get('cipher_key'))}" for c in hits) or "none (hole)"))



def upload_tree(cluster: Cluster, local: str | os.PathLike, remote: str, dir_mode: int = 0o755,
                **query) -> dict:
    """Mirrors a local tree into the filer: directories (also empty ones) via gRPC mkdir, files via
    HTTP PUT with the local permission bits as ?mode=, symlinks via gRPC. Returns counts."""
    local = Path(local)
    counts = {"dirs": 0, "files": 0, "symlinks": 0, "bytes": 0}
    cluster.mkdir(remote, dir_mode)
    for dirpath, dirnames, filenames in os.walk(local):
        rel = os.path.relpath(dirpath, local)
        rdir = remote if rel == "." else f"{remote}/{rel}"
        for d in sorted(dirnames):
            lp = Path(dirpath) / d
            if lp.is_symlink():
                cluster.symlink(f"{rdir}/{d}", os.readlink(lp))
                counts["symlinks"] += 1
            else:
                cluster.grpc.mkdir(f"{rdir}/{d}", dir_mode)
                counts["dirs"] += 1
        for f in sorted(filenames):
            lp = Path(dirpath) / f
            if lp.is_symlink():
                cluster.symlink(f"{rdir}/{f}", os.readlink(lp))
                counts["symlinks"] += 1
                continue
            data = lp.read_bytes()
            cluster.put(f"{rdir}/{f}", data, mode=lp.stat().st_mode & 0o777, **query)
            counts["files"] += 1
            counts["bytes"] += len(data)
    return counts

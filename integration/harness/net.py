"""Free loopback ports (with weed's gRPC port at +10000) and small HTTP helpers."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .env import MiB, HarnessError

_reserved_ports: set[int] = set()
_port_lock = threading.Lock()


def _port_free(port: int) -> bool:
    if port in _reserved_ports or port >= 65536:
        return False
    # weed also listens on /tmp/seaweedfs-*-<port>.sock; avoid ports with leftovers
    if list(Path("/tmp").glob(f"seaweedfs-*-{port}.sock")):
        return False
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _ephemeral_start() -> int:
    """The first port of the kernel's ephemeral range (outgoing connections take their source
    ports from it; 32768 by default)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    return 32768


def free_port_pair() -> int:
    """A loopback port p such that p and p+10000 (the gRPC port) are both free, and both below the
    ephemeral range: a port in it can be taken as the source port of any outgoing connection
    between this check and weed's bind (a CI run lost a filer that way, "bind: address already in
    use" on its gRPC port)."""
    rng = random.Random(os.getpid() * 7919 + time.monotonic_ns())
    top = _ephemeral_start() - 10000  # p < top keeps p + 10000 out of the ephemeral range
    low = 10000 if top - 10000 >= 5000 else 1024
    with _port_lock:
        for _ in range(2000):
            p = rng.randrange(low, max(low + 1000, top))
            if _port_free(p) and _port_free(p + 10000):
                _reserved_ports.update((p, p + 10000))
                return p
    raise HarnessError("no free port pair found")


def free_port() -> int:
    """A free loopback port with nothing listening (for 'unreachable filer' tests)."""
    return free_port_pair()


def _remove_weed_sockets(ports: Iterable[int]) -> None:
    for p in ports:
        for s in Path("/tmp").glob(f"seaweedfs-*-{p}.sock"):
            with contextlib.suppress(OSError):
                s.unlink()


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


def http_request(url: str, method: str = "GET", body=None, headers: dict | None = None,
                 timeout: float = 120.0) -> Response:
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        hdrs = dict(headers or {})
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def http_stream(url: str, headers: dict | None = None, timeout: float = 300.0,
                block: int = MiB) -> Iterator[bytes]:
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        path = u.path + ("?" + u.query if u.query else "")
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        if r.status not in (200, 206):
            raise HarnessError(f"GET {url}: HTTP {r.status}: {r.read()[:300]!r}")
        while True:
            b = r.read(block)
            if not b:
                break
            yield b
    finally:
        conn.close()


def _query(q: dict) -> str:
    items = []
    for k, v in q.items():
        if v is None:
            continue
        if isinstance(v, bool):
            v = "true" if v else "false"
        items.append((k, str(v)))
    return ("?" + urllib.parse.urlencode(items)) if items else ""


def quote_path(path: str) -> str:
    return urllib.parse.quote(path, safe="/")


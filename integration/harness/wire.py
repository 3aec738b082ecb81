"""A cable with delay and loss in user space, for kernels without `sch_netem` (tc netem).

A host's link is its veth eth0 (in the host's namespace) and the peer port on the bridge (in the
switch namespace, see netns.py). While a Wire runs, that port leaves the bridge and a tap device
takes its place there; this process, started inside the switch namespace, carries every frame
between the two ends:

    host eth0 ==veth== port  <-AF_PACKET->  [this process: delay, loss]  <-/dev/net/tun->  tap == br0

Each frame is dropped with probability loss% and otherwise delivered delay ms after it arrived, in
order, in both directions: what `tc qdisc add dev X root netem delay D loss L%` does on both ends of
the link. The queue holds at most LIMIT frames per direction (netem's default limit, 1000), so a
burst beyond it is dropped as netem's queue drops it.

Frames must be whole and checksummed to cross a tap: the host side's transmit checksum offload is
switched off for the duration (Wire.start), so the host sends finished frames of at most the MTU
instead of partial-checksum or GSO ones. The bridge side segments and checksums what it hands to
the tap itself (a tap without offloads set takes no partial checksums and no GSO frames).

    python3 integration/harness/wire.py PORT TAP DELAY_MS LOSS_PCT SEED   # inside the switch namespace
prints "ready" once the tap exists and the port is read, counters as JSON on SIGTERM/SIGINT.
"""

from __future__ import annotations

import array
import collections
import fcntl
import json
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import time

LIMIT = 1000
_TUNSETIFF = 0x400454CA
_IFF_TAP = 0x0002
_IFF_NO_PI = 0x1000
_ETH_P_ALL = 0x0003
_PACKET_OUTGOING = 4
_SIOCETHTOOL = 0x8946
_ETHTOOL_STXCSUM = 0x00000017


def set_tx_checksum(sock: socket.socket, ifname: str, on: bool) -> None:
    """Transmit checksum offload (and with it TSO/GSO frames) of interface ifname, in the namespace
    `sock` was made in: `ethtool -K IF tx on|off` without ethtool."""
    value = array.array("I", [_ETHTOOL_STXCSUM, 1 if on else 0])
    addr, _ = value.buffer_info()
    fcntl.ioctl(sock.fileno(), _SIOCETHTOOL, struct.pack("16sP", ifname.encode(), addr))


class Wire:
    """The running process for one host's link (see module doc). Lan.impair() uses it."""

    def __init__(self, lan, host, delay_ms: int, loss_pct: float, seed: int = 1):
        self.lan, self.host = lan, host
        self.delay_ms, self.loss_pct, self.seed = delay_ms, loss_pct, seed
        self.tap = f"w-{host.name}"[:15]
        self.proc: subprocess.Popen | None = None
        self.counters: dict | None = None

    def start(self) -> None:
        from .env import HarnessError
        from .netns import ip, ns_socket
        h = self.host
        with ns_socket(h.ns, socket.AF_INET, socket.SOCK_DGRAM) as s:
            set_tx_checksum(s, h.ifname, False)
        ip("link", "set", h.port, "nomaster", ns=self.lan.switch_ns)
        ip("link", "set", h.port, "promisc", "on", ns=self.lan.switch_ns)
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.lan.switch_ns, sys.executable, os.path.abspath(__file__), h.port, self.tap,
             str(self.delay_ms), str(self.loss_pct), str(self.seed)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 15)  # a deadline, not a sleep
        line = self.proc.stdout.readline().strip() if ready else "(nothing within 15 s)"
        if line != "ready":
            self.proc.kill()
            err = self.proc.stderr.read()
            self.stop()
            raise HarnessError(f"user-space wire for {h.name} did not start: {line!r} {err[-500:]}")
        ip("link", "set", self.tap, "master", "br0", ns=self.lan.switch_ns)
        ip("link", "set", self.tap, "up", ns=self.lan.switch_ns)

    def stop(self) -> dict | None:
        """The port back on the bridge, the process ended (its tap goes with it), offloads back on;
        returns the wire's counters."""
        from .netns import ip, ns_socket
        h = self.host
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
            try:
                out, _ = self.proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                out, _ = self.proc.communicate()
            for line in reversed(out.splitlines()):
                if line.startswith("{"):
                    self.counters = json.loads(line)
                    break
            self.proc = None
        ip("link", "set", h.port, "promisc", "off", ns=self.lan.switch_ns, check=False)
        ip("link", "set", h.port, "master", "br0", ns=self.lan.switch_ns, check=False)
        ip("link", "set", h.port, "up", ns=self.lan.switch_ns, check=False)
        try:
            with ns_socket(h.ns, socket.AF_INET, socket.SOCK_DGRAM) as s:
                set_tx_checksum(s, h.ifname, True)
        except OSError:
            pass  # the namespace is already gone (teardown)
        return self.counters


# --------------------------------------------------------------------------------------------
# the process
# --------------------------------------------------------------------------------------------

def _open_tap(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH", name.encode(), _IFF_TAP | _IFF_NO_PI))
    return fd


def run(port: str, tap: str, delay_ms: int, loss_pct: float, seed: int) -> dict:
    rng = random.Random(seed)
    delay = delay_ms / 1000.0
    loss = loss_pct / 100.0
    pkt = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL))
    pkt.bind((port, _ETH_P_ALL))
    pkt.setblocking(False)
    tapfd = _open_tap(tap)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    # per direction: frames waiting (due time, bytes), counters
    to_bridge: collections.deque = collections.deque()
    to_host: collections.deque = collections.deque()
    c = {"to_bridge": {"frames": 0, "bytes": 0, "lost": 0, "queue_drops": 0},
         "to_host": {"frames": 0, "bytes": 0, "lost": 0, "queue_drops": 0},
         "delay_ms": delay_ms, "loss_pct": loss_pct}

    def take(q, cnt, frame, now):
        if rng.random() < loss:
            cnt["lost"] += 1
        elif len(q) >= LIMIT:
            cnt["queue_drops"] += 1
        else:
            q.append((now + delay, frame))

    print("ready", flush=True)
    poller = select.poll()
    poller.register(pkt.fileno(), select.POLLIN)
    poller.register(tapfd, select.POLLIN)
    while not stop:
        now = time.monotonic()
        for q, send, cnt in ((to_bridge, lambda f: os.write(tapfd, f), c["to_bridge"]),
                             (to_host, pkt.send, c["to_host"])):
            while q and q[0][0] <= now:
                _, frame = q.popleft()
                try:
                    send(frame)
                    cnt["frames"] += 1
                    cnt["bytes"] += len(frame)
                except (BlockingIOError, OSError):
                    cnt["queue_drops"] += 1  # the far end's queue is full: lost, as on a wire
        due = min([q[0][0] for q in (to_bridge, to_host) if q], default=now + 0.2)
        timeout_ms = max(0, int((due - time.monotonic()) * 1000) + 1)
        try:
            events = poller.poll(timeout_ms)
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd, _ in events:
            for _ in range(256):  # bounded batch so neither direction starves the other
                try:
                    if fd == tapfd:
                        take(to_host, c["to_host"], os.read(tapfd, 65536), now)
                    else:
                        frame, addr = pkt.recvfrom(65536)
                        if addr[2] != _PACKET_OUTGOING:
                            take(to_bridge, c["to_bridge"], frame, now)
                except BlockingIOError:
                    break
    os.close(tapfd)
    pkt.close()
    return c


def main(argv: list[str]) -> int:
    port, tap, delay_ms, loss_pct, seed = argv[0], argv[1], int(argv[2]), float(argv[3]), int(argv[4])
    counters = run(port, tap, delay_ms, loss_pct, seed)
    print(json.dumps(counters), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

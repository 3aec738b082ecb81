"""The main job on an embedded default: a local SeaweedFS cluster (master + volume + filer on
free loopback ports), the RDMA agent beside the volume server (when built), a few sample files,
and seaweed-rdma-mount on .demo/mnt. Ctrl-C unmounts and stops everything."""

from __future__ import annotations

import hashlib
import signal
import sys
import time
from pathlib import Path

import harness  # integration/harness: scripts/demo.sh runs this with integration/ on PYTHONPATH

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / "build" / "bin"


def samples(cluster: harness.Cluster) -> list[tuple[str, bytes]]:
    files = [
        ("/demo/hello.txt", b"Hello from SeaweedFS through seaweed-rdma-mount!\n"),
        ("/demo/random-8MiB.bin", harness.random_bytes(1, 8 << 20)),
        ("/demo/text/numbers.txt", "".join(f"{i}\n" for i in range(200_000)).encode()),
        ("/demo/multi-chunk-5MiB.bin", harness.random_bytes(2, 5 << 20)),
    ]
    for path, data in files:
        extra = {"maxMB": 1} if "multi-chunk" in path else {}
        cluster.put(path, data, **extra)
    cluster.symlink("/demo/link-to-hello", "hello.txt")
    return files


def main() -> int:
    demo = REPO / ".demo"
    mnt = demo / "mnt"
    mnt.mkdir(parents=True, exist_ok=True)
    if harness.is_mounted(mnt):
        harness.lazy_unmount(mnt)
    stop = {"now": False}

    def on_signal(signum, frame):  # noqa: ARG001
        stop["now"] = True

    with harness.Cluster(name="demo") as cluster:
        print(f"demo: SeaweedFS filer at {cluster.filer_url}, data in {cluster.dir}")
        files = samples(cluster)
        mount_args = []
        agent_bin = BIN / "seaweed-rdma-agent"
        if agent_bin.exists():
            agent_port = harness.free_port()
            vol_dir = cluster.dir / "data"
            cluster.spawn("agent", [agent_bin, f"-dir={vol_dir}", f"-volumeServer={cluster.volume_url(0)}",
                                    "-ip=127.0.0.1", f"-port={agent_port}"])
            mount_args.append(f"-rdma.agents={cluster.volume_url(0)}=127.0.0.1:{agent_port}")
            print(f"demo: seaweed-rdma-agent on 127.0.0.1:{agent_port} serves volume server {cluster.volume_url(0)}")
        metrics_port = harness.free_port()
        argv = [BIN / "seaweed-rdma-mount", f"-filer={cluster.filer_addr}", f"-metricsPort={metrics_port}",
                *mount_args, mnt]
        mount = cluster.spawn("mount", argv)
        deadline = time.monotonic() + 30
        while not harness.is_mounted(mnt):
            if not mount.alive() or time.monotonic() > deadline:
                print(mount.tail(40))
                return 1
            time.sleep(0.05)
        for path, data in files:
            got = hashlib.sha256((mnt / path.lstrip("/")).read_bytes()).hexdigest()
            ok = "ok" if got == hashlib.sha256(data).hexdigest() else "MISMATCH"
            print(f"demo: {path:<28} {len(data):>9} bytes  sha256 {ok}")
        print(f"\nMounted at {mnt}   (try: ls -l {mnt}/demo; cat {mnt}/demo/hello.txt)")
        print(f"Metrics:   curl http://127.0.0.1:{metrics_port}/metrics")
        print(f"Filer UI:  {cluster.filer_url}/demo/")
        print("Ctrl-C unmounts and stops everything.")
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        while not stop["now"] and mount.alive():
            time.sleep(0.2)
        print("\ndemo: stopping")
        mount.stop()
        if harness.is_mounted(mnt):
            harness.lazy_unmount(mnt)
    return 0


if __name__ == "__main__":
    sys.exit(main())

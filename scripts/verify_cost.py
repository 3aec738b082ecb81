"""Cost of verified bytes over HTTP (issue 10): one 256 MiB file (4 MiB chunks) read through two
mounts of one cluster, -verifyReads=true (the default) and -verifyReads=false, in interleaved
rounds: sequential O_DIRECT 1 MiB reads after drop_caches, and 1,500 random 4 KiB O_DIRECT preads.
Prints JSON (medians and samples, load average). Run as root from the repository root:
  PYTHONPATH=integration .venv/bin/python scripts/verify_cost.py
The bench target ours_http_noverify gives the same comparison inside scripts/bench.sh."""
import hashlib
import json
import mmap
import os
import random
import statistics
import time

from harness import Cluster, Mount, MiB

SEQ = 256 * MiB
res = {"seq_MBps": {"verify": [], "noverify": []}, "rand4k_p50_us": {"verify": [], "noverify": []},
       "rand4k_p99_us": {"verify": [], "noverify": []}}

def drop():
    with open("/proc/sys/vm/drop_caches", "w") as f: f.write("3")

def seq(path):
    drop()
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, MiB)
    t = time.perf_counter(); n = 0
    while True:
        k = os.readv(fd, [buf])
        if k <= 0: break
        n += k
    dt = time.perf_counter() - t
    os.close(fd)
    return n / dt / 1e6

def rand(path, size, count=1500, seed=1):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, 4096)
    rnd = random.Random(seed); lat = []
    for _ in range(count):
        off = rnd.randrange(size // 4096) * 4096
        t = time.perf_counter(); os.preadv(fd, [buf], off); lat.append((time.perf_counter() - t) * 1e6)
    os.close(fd)
    lat.sort()
    return lat[len(lat) // 2], lat[int(len(lat) * 0.99)]

with Cluster(name="verifycost") as c:
    data = os.urandom(SEQ)
    c.put("/v/seq.bin", data, maxMB=4)
    with Mount(c, ["-rdma.enabled=false", "-verifyReads=true"], name="verify") as mv, \
         Mount(c, ["-rdma.enabled=false", "-verifyReads=false"], name="noverify") as mn:
        mounts = {"verify": mv, "noverify": mn}
        for r in range(3):
            for k in (["verify", "noverify"] if r % 2 == 0 else ["noverify", "verify"]):
                m = mounts[k]
                res["seq_MBps"][k].append(seq(m.p("v/seq.bin")))
                p50, p99 = rand(m.p("v/seq.bin"), SEQ, seed=r + 1)  # fresh offsets each round
                res["rand4k_p50_us"][k].append(p50); res["rand4k_p99_us"][k].append(p99)
        h = hashlib.sha256(open(mv.p("v/seq.bin"), "rb").read()).hexdigest()
        assert h == hashlib.sha256(data).hexdigest()
out = {k: {t: {"median": statistics.median(v), "samples": v} for t, v in d.items()} for k, d in res.items()}
out["load_avg"] = os.getloadavg()
print(json.dumps(out, indent=1))

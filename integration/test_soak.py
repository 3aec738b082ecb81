"""Soak on the namespace topology (integration/topology.py: master + filer, three volume servers with
-defaultReplication=001 and an agent each, two mounts on hosts of their own).

For SOAK_SECONDS (default 120; scripts/soak.sh runs 1200): a sequential and a random O_DIRECT reader
on each mount (every block compared), metadata churn through the filer (create, overwrite, delete;
each version read byte-exact through both mounts once they show it), kill -9 of an agent every
SOAK_KILL_EVERY_S seconds (agents 0 and 1 in turn, restarted 3 s later; agent 2 is never killed,
so one agent has an unbroken curve), and a vacuum every SOAK_VACUUM_EVERY_S (at half time in
short runs, every 300 s in long ones: the churn's garbage would fill the volumes).

Every SOAK_SAMPLE_S seconds the RSS, open fds and threads of both mounts and all agents are sampled
(/proc/PID/status, /proc/PID/fd). "Flat", after a warm-up of max(30 s, 20% of the run): for each
process (an agent: its last lifetime, if that spans at least half of the post-warm-up time), the
peak of the last third of the samples may exceed the peak of the samples before it by at most
10% + 8 MiB of anonymous RSS, 8 fds and 4 threads: a leak keeps setting new peaks, while the
mount's per-thread UCX channels (about 6 fds each, made as threads first reach an agent and
rebuilt after an agent restart) only refill to a level seen before. Anonymous RSS, because an agent maps its .dat
files and their pages count in its RSS as it serves them (file-backed, bounded by the volumes'
size, given back under memory pressure): total RSS is recorded and plotted too. The curves go to soak-<time>.json and .png in
INTEG_RESULTS_DIR when it is set."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import threading
import time
from pathlib import Path

import pytest

from harness import STATS, MiB, RandomBlob, http_request, random_bytes
from harness.netns import Lan, NetnsUnavailable
from readload import ReadLoad
from test_rdma import wait_until
from topology import LoadTracker, Topology, counters_dict

pytestmark = pytest.mark.soak

SOAK_S = float(os.environ.get("SOAK_SECONDS", "120"))
SAMPLE_S = float(os.environ.get("SOAK_SAMPLE_S", "2" if SOAK_S <= 300 else "5"))
KILL_EVERY_S = float(os.environ.get("SOAK_KILL_EVERY_S", "40" if SOAK_S <= 300 else "120"))
# the churn's garbage must be vacuumed now and then, or a long run fills every volume (64 MiB each)
VACUUM_EVERY_S = float(os.environ.get("SOAK_VACUUM_EVERY_S", str(SOAK_S / 2) if SOAK_S <= 300 else "300"))
WARMUP_S = max(30.0, 0.2 * SOAK_S)
RSS_FRAC, RSS_ABS, FD_ABS, THREAD_ABS = 0.10, 8 * MiB, 8, 4
JUDGED = ("rss_anon", "fds", "threads")
ROOT = "/soak"


def proc_sample(pid: int) -> dict | None:
    try:
        st = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    f = dict(line.split(":", 1) for line in st.splitlines() if ":" in line)
    kib = lambda k: int(f[k].split()[0]) * 1024  # noqa: E731
    return {"rss": kib("VmRSS"), "rss_anon": kib("RssAnon"), "rss_file": kib("RssFile"), "fds": fds,
            "threads": int(f["Threads"])}


class Sampler(threading.Thread):
    """Samples the mounts' and agents' RSS/fds/threads every SAMPLE_S seconds (pid per sample, so
    an agent's lifetimes can be told apart)."""

    def __init__(self, topo, mounts, t0: float):
        super().__init__(name="sampler", daemon=True)
        self.topo, self.mounts, self.t0 = topo, mounts, t0
        self.samples: dict[str, list] = {}
        self.stop_evt = threading.Event()

    def procs(self):
        for m in self.mounts:
            yield m.name, m.pid
        for v in self.topo.vols:
            a = v.agent
            yield a.name, (a.proc.pid if a.proc and a.alive() else None)

    def run(self):
        while not self.stop_evt.wait(SAMPLE_S):
            t = round(time.monotonic() - self.t0, 1)
            for name, pid in self.procs():
                s = proc_sample(pid) if pid else None
                if s:
                    self.samples.setdefault(name, []).append({"t": t, "pid": pid, **s})


def flatness(samples: list[dict], t_from: float, span: float) -> dict:
    """Growth of RSS/fds/threads between the first and the last third of the samples after t_from,
    taken from the process's last lifetime (pid), if that covers at least half of `span`."""
    after = [s for s in samples if s["t"] >= t_from]
    if not after:
        return {"judged": False, "why": "no samples after the warm-up"}
    last_pid = after[-1]["pid"]
    life = [s for s in after if s["pid"] == last_pid]
    if life[-1]["t"] - life[0]["t"] < 0.5 * span or len(life) < 6:
        return {"judged": False, "why": f"last lifetime (pid {last_pid}) covers "
                                       f"{life[-1]['t'] - life[0]['t']:.0f} s of {span:.0f} s"}
    k = max(2, len(life) // 3)
    before, last = life[:-k], life[-k:]
    out = {"judged": True, "pid": last_pid, "samples": len(life), "from_s": life[0]["t"], "to_s": life[-1]["t"]}
    for f in JUDGED:
        a, b = max(x[f] for x in before), max(x[f] for x in last)
        bound = {"rss_anon": a * RSS_FRAC + RSS_ABS, "fds": FD_ABS, "threads": THREAD_ABS}[f]
        out[f] = {"peak_before_last_third": a, "peak_of_last_third": b, "growth": b - a, "bound": bound,
                  "first_third_median": statistics.median(x[f] for x in life[:k]),
                  "last_third_median": statistics.median(x[f] for x in last), "flat": b - a <= bound}
    return out


class Churn(threading.Thread):
    """Create / overwrite / delete small files through the filer, each version checked byte-exact
    through both mounts once they show it."""

    def __init__(self, topo, mounts, seed: int = 5):
        super().__init__(name="churn", daemon=True)
        self.topo, self.mounts = topo, mounts
        self.rng = random.Random(seed)
        self.stop_evt = threading.Event()
        self.ops = {"create": 0, "overwrite": 0, "delete": 0, "verified_reads": 0}
        self.problems: list[str] = []
        self.slowest_visible_s = 0.0

    def _visible(self, rel: str, size: int | None) -> None:
        def ok():
            for m in self.mounts:
                p = m.p(rel)
                if size is None:
                    if os.path.exists(p):
                        return False
                elif not os.path.exists(p) or os.stat(p).st_size != size:
                    return False
            return True
        t = time.monotonic()
        wait_until(f"{rel} {'gone' if size is None else f'at {size} B'} on both mounts", ok, 30, interval=0.02)
        self.slowest_visible_s = max(self.slowest_visible_s, time.monotonic() - t)

    def _check(self, rel: str, data: bytes) -> None:
        for m in self.mounts:
            with open(m.p(rel), "rb") as f:
                got = f.read()
            self.ops["verified_reads"] += 1
            if got != data:
                self.problems.append(f"churn: {m.name} {rel}: {len(got)} B read, {len(data)} B expected, "
                                     f"{'equal length, content differs' if len(got) == len(data) else ''}")

    def run(self):
        i = 0
        try:
            while not self.stop_evt.is_set() and len(self.problems) < 10:
                rel = f"{ROOT}/churn/c{i % 8}"
                i += 1
                sizes = self.rng.sample(range(1000, 3 * MiB // 2), 2)
                v1 = random_bytes(self.rng.randrange(1 << 30), sizes[0])
                self.topo.put(rel, v1, maxMB=1)
                self.ops["create"] += 1
                self._visible(rel, len(v1))
                self._check(rel, v1)
                v2 = random_bytes(self.rng.randrange(1 << 30), sizes[1])
                self.topo.put(rel, v2, maxMB=1)
                self.ops["overwrite"] += 1
                self._visible(rel, len(v2))
                self._check(rel, v2)
                if self.rng.random() < 0.7:
                    self.topo.delete(rel)
                    self.ops["delete"] += 1
                    self._visible(rel, None)
                self.stop_evt.wait(0.2)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.problems.append(f"churn stopped: {e!r}")


@pytest.fixture(scope="module")
def lan():
    lan = Lan("soak")
    try:
        lan.up()
    except NetnsUnavailable as e:
        pytest.skip(str(e))
    try:
        yield lan
    finally:
        lan.down()


def test_soak(lan):
    with Topology(lan, volumes=3, replication="001", name="soak", volume_max=40) as topo:
        files = {}
        for i in range(6):
            p = f"{ROOT}/data/f{i}"
            files[p] = RandomBlob(7700 + i, 12 * MiB + 999 * i)
            topo.put(p, files[p], maxMB=1)
        mounts = [topo.mount(i, args=["-cacheCapacityMB=16"]) for i in range(2)]
        for m in mounts:
            m.start()
        try:
            _soak(topo, mounts, files)
        finally:
            for m in mounts:
                m.stop()


def _soak(topo, mounts, files):
    t0 = time.monotonic()
    sampler = Sampler(topo, mounts, t0)
    sampler.start()
    tracker = LoadTracker(topo)
    c0 = [m.counters() for m in mounts]
    load = ReadLoad(mounts, files, seed=11).start()
    churn = Churn(topo, mounts)
    churn.start()
    events = []
    next_kill, kills, next_vacuum = t0 + KILL_EVERY_S, 0, t0 + VACUUM_EVERY_S
    try:
        while time.monotonic() - t0 < SOAK_S:
            time.sleep(0.5)
            now = time.monotonic()
            if now >= next_kill and now - t0 < SOAK_S - 10:
                v = topo.vols[kills % 2]
                v.agent.kill9()
                events.append({"t": round(now - t0, 1), "event": f"kill -9 {v.agent.name}"})
                time.sleep(3)
                v.start_agent()
                events.append({"t": round(time.monotonic() - t0, 1), "event": f"{v.agent.name} restarted"})
                kills += 1
                next_kill = now + KILL_EVERY_S
            if now >= next_vacuum and now - t0 < SOAK_S - 10:
                r = http_request(topo.master_url + "/vol/vacuum?garbageThreshold=0.0001", timeout=300)
                events.append({"t": round(now - t0, 1), "event": f"vacuum (HTTP {r.status}, "
                                                                f"{time.monotonic() - now:.1f} s)"})
                next_vacuum = now + VACUUM_EVERY_S
            tracker.sample()
    finally:
        churn.stop_evt.set()
        hung = load.stop()
        churn.join(120)
        sampler.stop_evt.set()
        sampler.join(30)
    secs = time.monotonic() - t0
    p = load.progress
    c1 = [m.counters() for m in mounts]
    span = secs - WARMUP_S
    flat = {name: flatness(s, WARMUP_S, span) for name, s in sampler.samples.items()}
    report = {
        "schema": "seaweed-rdma-soak/1", "seconds": round(secs, 1), "sample_s": SAMPLE_S, "warmup_s": WARMUP_S,
        "bounds": {"rss_anon": f"{int(RSS_FRAC * 100)}% + {RSS_ABS // MiB} MiB", "fds": FD_ABS, "threads": THREAD_ABS,
                   "rule": "peak of the last third minus peak before it, post-warm-up samples of the last lifetime"},
        "read_bytes": p.total, "reads": p.reads, "mismatches": p.mismatches, "errors": dict(p.errors),
        "churn": dict(churn.ops, slowest_visible_s=round(churn.slowest_visible_s, 2), problems=churn.problems),
        "events": events, "agents": tracker.sample(),
        "mounts": {m.name: counters_dict(b - a) for m, a, b in zip(mounts, c0, c1)},
        "flatness": flat, "samples": sampler.samples,
    }
    out = _write(report)
    short = {n: (f"anon RSS peak {f['rss_anon']['peak_before_last_third'] / MiB:.0f}->"
                 f"{f['rss_anon']['peak_of_last_third'] / MiB:.0f} MiB, "
                 f"fds {f['fds']['peak_before_last_third']:.0f}->{f['fds']['peak_of_last_third']:.0f}, "
                 f"threads {f['threads']['peak_before_last_third']:.0f}->{f['threads']['peak_of_last_third']:.0f}"
                 if f.get("judged") else f"not judged ({f.get('why')})") for n, f in flat.items()}
    STATS.notes.append(
        f"soak [{secs:.0f} s, 2 mounts x (seq + random), {kills} agent kills, "
        f"{sum(e['event'].startswith('vacuum') for e in events)} vacuums, churn {churn.ops}]: "
        f"{p.total / MiB:.0f} MiB in {p.reads} reads, {p.mismatches} mismatches, errors {dict(p.errors) or 0}; "
        + "; ".join(f"{n}: {v}" for n, v in short.items()) + (f"; curves in {out}" if out else ""))
    assert not hung, f"readers still blocked: {hung}"
    assert p.mismatches == 0 and not p.errors, (p.mismatches, dict(p.errors), p.problems[:20])
    assert not churn.problems, churn.problems
    assert churn.ops["overwrite"] > 0, f"no churn happened: {churn.ops}"
    grown = {n: {k: f[k] for k in JUDGED if not f[k]["flat"]}
             for n, f in flat.items() if f.get("judged") and not all(f[k]["flat"] for k in JUDGED)}
    assert not grown, f"not flat: {json.dumps(grown, indent=1)}"
    judged = [n for n, f in flat.items() if f.get("judged")]
    assert all(m.name in judged for m in mounts) and "agent2" in judged, f"too few samples judged: {short}"


def _write(report: dict) -> Path | None:
    d = os.environ.get("INTEG_RESULTS_DIR")
    if not d:
        return None
    Path(d).mkdir(parents=True, exist_ok=True)
    out = Path(d) / f"soak-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{int(report['seconds'])}s.json"
    out.write_text(json.dumps(report, indent=None, separators=(",", ":")) + "\n")
    try:
        _plot(report, out.with_suffix(".png"))
    except ImportError as e:  # matplotlib is in .venv (scripts/setup.sh); a bare python may lack it
        STATS.notes.append(f"soak: no PNG ({e})")
    return out


def _plot(report: dict, png: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(4, 1, figsize=(10, 11), sharex=True)
    for name, s in sorted(report["samples"].items()):
        t = [x["t"] for x in s]
        axes[0].plot(t, [x["rss_anon"] / MiB for x in s], ".-", ms=2, lw=1, label=name)
        axes[1].plot(t, [x["rss"] / MiB for x in s], ".-", ms=2, lw=1, label=name)
        axes[2].plot(t, [x["fds"] for x in s], ".-", ms=2, lw=1, label=name)
        axes[3].plot(t, [x["threads"] for x in s], ".-", ms=2, lw=1, label=name)
    for ax, what in zip(axes, ("anon RSS MiB", "RSS MiB (+ mapped files)", "open fds", "threads")):
        ax.set_ylabel(what)
        ax.grid(alpha=0.3)
        ax.axvline(report["warmup_s"], color="grey", ls=":", lw=1)
        for e in report["events"]:
            if e["event"].startswith(("kill", "vacuum")):
                ax.axvline(e["t"], color="red" if e["event"].startswith("kill") else "green", alpha=0.3, lw=1)
    axes[0].legend(fontsize=8, ncol=5)
    axes[3].set_xlabel("seconds (red: agent kill -9, green: vacuum, dotted: end of warm-up)")
    fig.suptitle(f"soak {report['seconds']:.0f} s: {report['read_bytes'] / MiB:.0f} MiB read byte-exact, "
                 f"{report['mismatches']} mismatches, errors {report['errors'] or 0}")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)

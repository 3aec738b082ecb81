"""Faults on a multi-host topology in network namespaces (integration/topology.py): master + filer on
one host, three volume servers with -defaultReplication=001 and an agent beside each on three more,
two mounts on two more, all on one bridge. UCX runs over tcp on the hosts' veths.

While a sequential and a random O_DIRECT reader run on each mount (every block compared), one fault
at a time: kill -9 of a volume server with its agent, kill -9 of an agent alone, a link down, delay
and loss on an agent's link (tc netem, or the same in user space where the kernel lacks it), a filer
restart, a vacuum under load. Each must end with 0 wrong bytes and 0 errors (a replica or HTTP can
always serve), and the figures record the bytes by transport and by agent and the seconds until
reads are fast again. A healthy phase first gives the per-agent load.

Figures: pytest's summary; with INTEG_RESULTS_DIR set, also topology-<time>.json there
(`INTEG_RESULTS_DIR=$PWD/bench/results/faults ctest -R integration.topology` for the committed figures)."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

import pytest

from harness import STATS, MiB, RandomBlob, http_request
from harness.netns import Lan, NetnsUnavailable
from readload import ReadLoad
from test_rdma import Counters, wait_until
from topology import LoadTracker, Topology, counters_dict, delta_load

pytestmark = pytest.mark.fault

ROOT = "/topo"
HOLD_S = float(os.environ.get("INTEG_TOPO_HOLD_S", "8"))   # how long each fault lasts under load
# A partition lasts longer: long enough to see whether reads get fast again while it lasts (the
# agent's backoff ceiling is 5 s, the HTTP request timeout 30 s).
LINK_DOWN_S = float(os.environ.get("INTEG_TOPO_LINK_DOWN_S", "30"))
BASE_S = 4.0                                                # healthy reading before each fault
RESULTS: dict = {"faults": [], "load": None, "topology": None}


# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lan():
    lan = Lan("topo")
    try:
        lan.up()
    except NetnsUnavailable as e:
        pytest.skip(str(e))
    try:
        yield lan
    finally:
        lan.down()


@pytest.fixture(scope="module")
def topo(lan):
    t = Topology(lan, volumes=3, replication="001")
    t.start()
    try:
        yield t
    finally:
        t.stop()
        _write_results()


@pytest.fixture(scope="module")
def files(topo):
    out = {}
    specs = [(f"seq{i}", 9100 + i, 16 * MiB + 4321 * i, 1) for i in range(4)]
    specs += [(f"mid{i}", 9200 + i, 3 * MiB + 17 * i, 1) for i in range(6)]
    for name, seed, size, maxmb in specs:
        p = f"{ROOT}/{name}"
        b = RandomBlob(seed, size)
        topo.put(p, b, maxMB=maxmb)
        out[p] = b
    reps = topo.volume_replicas()
    two = sum(1 for v in reps.values() if len(v) == 2)
    RESULTS["topology"] = {"lan": topo.lan.describe(), "replication": topo.replication,
                           "volumes": {str(k): v for k, v in sorted(reps.items())},
                           "files": len(out), "bytes": sum(b.size for b in out.values())}
    STATS.notes.append(f"topology: {topo.lan.describe()}; {len(reps)} volumes, {two} with 2 replicas")
    assert reps and two == len(reps), f"expected every volume on 2 servers (001): {reps}"
    return out


@pytest.fixture(scope="module")
def mounts(topo, files):
    ms = [topo.mount(i, args=["-cacheCapacityMB=8"]) for i in range(2)]
    try:
        for m in ms:
            m.start()
        yield ms
    finally:
        for m in ms:
            m.stop()


def _write_results() -> None:
    d = os.environ.get("INTEG_RESULTS_DIR")
    if not d or not RESULTS["faults"] and not RESULTS["load"]:
        return
    Path(d).mkdir(parents=True, exist_ok=True)
    out = Path(d) / f"topology-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    RESULTS["schema"] = "seaweed-rdma-topology/1"
    out.write_text(json.dumps(RESULTS, indent=1) + "\n")
    STATS.notes.append(f"topology: figures written to {out}")


# ---------------------------------------------------------------------------------------------
# one fault under load
# ---------------------------------------------------------------------------------------------

def _mount_counters(mounts) -> list[Counters]:
    return [m.counters() for m in mounts]


def _busiest_volume_host(topo, load0, load1):
    d = delta_load(load0, load1)
    name = max(d, key=lambda k: d[k]["bytes"])
    return next(v for v in topo.vols if v.agent.name == name)


def run_fault(topo, mounts, files, name: str, inject, heal, victim=None, hold: float = HOLD_S,
              wait_healed=None, known_issue=None) -> dict:
    """Readers on both mounts; BASE_S healthy, inject(victim), `hold` s under the fault, heal(victim),
    then until wait_healed() (default: the victim's agent serves again) and 2 s more. Returns the
    figures; asserts 0 mismatches and 0 errors. known_issue(progress) -> reason or None: errors that
    a known, described bug explains make the test xfail with that reason (mismatches never do)."""
    tracker = LoadTracker(topo)
    load = ReadLoad(mounts, files, seed=len(RESULTS["faults"]) + 7).start()
    p = load.progress
    rec: dict = {"fault": name}
    try:
        t0 = time.monotonic()
        wait_until(f"[{name}] readers reading", lambda: p.total >= 8 * MiB, 60)
        time.sleep(max(0.0, BASE_S - (time.monotonic() - t0)))  # the baseline window: readers run
        c0, l0 = _mount_counters(mounts), tracker.sample()
        base_end = time.monotonic()
        baseline = p.rate(base_end - BASE_S / 2, base_end)
        if victim is None:
            victim = topo.vols[0]
        rec["victim"] = f"{victim.agent.name} ({victim.addr})" if victim is not False else None
        t_fault = time.monotonic()
        inject(victim)
        rec["inject_s"] = round(time.monotonic() - t_fault, 2)
        c_mid = None
        end_hold = t_fault + hold
        while time.monotonic() < end_hold:
            time.sleep(0.1)
        c_mid, l_mid = _mount_counters(mounts), tracker.sample()
        t_heal = time.monotonic()
        heal(victim)
        rec["heal_s"] = round(time.monotonic() - t_heal, 2)
        if wait_healed is None and victim:
            def wait_healed():
                before = tracker.sample()[victim.agent.name]["bytes"]
                return lambda: tracker.sample()[victim.agent.name]["bytes"] > before + MiB
            cond = wait_healed()
        else:
            cond = wait_healed() if wait_healed else (lambda: True)
        wait_until(f"[{name}] the healed part serving again", cond, 90, interval=0.2)
        t_served = time.monotonic()
        time.sleep(2.0)
        t_end = time.monotonic()
        c1, l1 = _mount_counters(mounts), tracker.sample()
    finally:
        hung = load.stop()
    fast_fault = p.first_fast(t_fault, t_end, baseline)
    fast_heal = p.first_fast(t_heal, t_end, baseline)
    rec.update({
        "read_bytes": p.total, "reads": p.reads, "mismatches": p.mismatches,
        "errors": dict(p.errors), "eio": p.errors.get("EIO", 0),
        "baseline_MBps": round(baseline / 1e6, 1),
        "during_fault_MBps": round(p.rate(t_fault, t_heal) / 1e6, 1),
        "longest_stall_s": round(p.longest_gap(t_fault, t_end), 2),
        "max_read_latency_s": round(p.max_latency, 2),
        "fast_again_after_fault_s": None if fast_fault is None else round(fast_fault, 2),
        "fast_again_after_heal_s": None if fast_heal is None else round(fast_heal, 2),
        "agent_serving_again_after_heal_s": round(t_served - t_heal, 2),
        "mounts": {m.name: {"during_fault": counters_dict(cm - cb), "whole": counters_dict(ce - cb)}
                   for m, cb, cm, ce in zip(mounts, c0, c_mid, c1)},
        "agents_during_fault": delta_load(l0, l_mid),
        "agents_whole": delta_load(l0, l1),
    })
    rec["agent_supervisor_restarts"] = sum(v.supervisor_restarts for v in topo.vols)
    RESULTS["faults"].append(rec)
    tr = {k: int(sum(r["whole"][k] for r in rec["mounts"].values())) for k in ("rdma_bytes", "http_bytes")}
    STATS.notes.append(
        f"topology [{name}]: {p.total / MiB:.0f} MiB in {p.reads} reads, {p.mismatches} mismatches, "
        f"errors {dict(p.errors) or 0}; baseline {rec['baseline_MBps']} MB/s, during the fault "
        f"{rec['during_fault_MBps']} MB/s, longest stall {rec['longest_stall_s']} s, fast again "
        f"{rec['fast_again_after_fault_s']} s after the fault / {rec['fast_again_after_heal_s']} s after the heal, "
        f"agent serving again {rec['agent_serving_again_after_heal_s']} s after the heal; "
        f"rdma {tr['rdma_bytes'] / MiB:.0f} MiB, http {tr['http_bytes'] / MiB:.0f} MiB; by agent "
        + ", ".join(f"{k} {v['bytes'] / MiB:.0f} MiB/{int(v['requests'])} req"
                    for k, v in rec["agents_whole"].items()))
    assert not hung, f"[{name}] readers still blocked after the stop: {hung}"
    reason = known_issue(p) if known_issue and p.errors and not p.mismatches else None
    if reason:
        rec["known_issue"] = reason
        STATS.notes.append(f"topology [{name}]: KNOWN ISSUE: {reason}")
        pytest.xfail(reason)
    assert p.mismatches == 0 and not p.errors, (f"[{name}] {p.mismatches} mismatches, errors {dict(p.errors)}:\n"
                                                + "\n".join(p.problems[:20]) + "\n" + _diag(topo, mounts))
    return rec


def _log_has(m, text: str) -> bool:
    try:
        return text.encode() in m.proc.log_path.read_bytes()
    except (AttributeError, OSError):
        return False


def _diag(topo, mounts) -> str:
    out = []
    for m in mounts:
        out.append(f"--- {m.name} log ---\n{m.log(30)}")
    for v in topo.vols:
        out.append(f"--- {v.agent.name} ---\n{v.agent.log(15)}")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------------

def measure_load(topo, mounts, files, label: str, seconds: float = 10.0) -> dict:
    """Both mounts read (seq + random) for `seconds`; bytes and requests per agent."""
    tracker = LoadTracker(topo)
    load = ReadLoad(mounts, files, seed=3).start()
    try:
        l0, c0 = tracker.sample(), _mount_counters(mounts)
        t0 = time.monotonic()
        time.sleep(seconds)
        l1, c1 = tracker.sample(), _mount_counters(mounts)
        secs = time.monotonic() - t0
    finally:
        hung = load.stop()
    p = load.progress
    d = delta_load(l0, l1)
    total = sum(v["bytes"] for v in d.values()) or 1
    mount_rdma = sum(b.rdma - a.rdma for a, b in zip(c0, c1))
    mount_http = sum(b.http - a.http for a, b in zip(c0, c1))
    shares = {k: round(v["bytes"] / total, 3) for k, v in d.items()}
    rec = {"label": label, "seconds": round(secs, 1), "agents": d, "shares": shares,
           "max_over_mean": round(max(shares.values()) * len(shares), 2),
           "mount_rdma_bytes": mount_rdma, "mount_http_bytes": mount_http, "read_bytes": p.total,
           "read_MBps": round(p.total / secs / 1e6, 1)}
    STATS.notes.append(
        f"topology [per-agent load, {label}, {secs:.0f} s, 2 mounts x (seq + random)]: read "
        f"{p.total / MiB:.0f} MiB ({rec['read_MBps']} MB/s); mounts rdma {mount_rdma / MiB:.0f} MiB, http "
        f"{mount_http / MiB:.0f} MiB; " + ", ".join(
            f"{k}: {v['bytes'] / MiB:.0f} MiB / {int(v['requests'])} req ({100 * shares[k]:.0f}%)" for k, v in d.items())
        + f"; busiest agent {rec['max_over_mean']}x the mean")
    assert not hung and p.mismatches == 0 and not p.errors, (p.mismatches, dict(p.errors), p.problems[:10])
    assert mount_rdma >= 0.9 * (mount_rdma + mount_http), "healthy topology: expected >= 90% over the agents"
    return rec


def test_per_agent_load(topo, mounts, files):
    """Everything healthy: both mounts read; bytes and requests per agent, and how they relate to
    the replicas of the volumes (the mount starts at replica hash(needle key) % n, so every agent
    serves: the busiest may do at most 1.6x the mean).
    INTEG_TOPO_ALT_MOUNT_BIN=BINARY measures the same with two mounts of another build (e.g. one
    that spreads reads over the replicas) on the same cluster and data."""
    reps = topo.volume_replicas()
    first = {}
    for servers in reps.values():
        first[servers[0]] = first.get(servers[0], 0) + 1
    RESULTS["load"] = measure_load(topo, mounts, files, "this build")
    # what each policy would give if every file were read equally often (the readers pick files
    # uniformly): bytes of the read set per volume, credited to the first replica's agent, or
    # split evenly over the replicas' agents
    per_vol: dict[int, float] = {}
    for path, blob in files.items():
        chunks = topo.chunks_of(path)
        for c in chunks:
            vid = int(c["file_id"].split(",")[0])
            per_vol[vid] = per_vol.get(vid, 0.0) + c.get("size", 0) / blob.size  # one read of each file
    agent_of = {v.addr: v.agent.name for v in topo.vols}
    model_first = {a: 0.0 for a in agent_of.values()}
    model_spread = {a: 0.0 for a in agent_of.values()}
    for vid, w in per_vol.items():
        servers = reps.get(vid, [])
        if not servers:
            continue
        model_first[agent_of[servers[0]]] += w
        for srv in servers:
            model_spread[agent_of[srv]] += w / len(servers)
    tot = sum(per_vol.values()) or 1
    RESULTS["load"].update({
        "replicas": {str(k): v for k, v in sorted(reps.items())},
        "volumes_whose_first_listed_replica_is": first,
        "model_shares_first_replica": {k: round(v / tot, 3) for k, v in model_first.items()},
        "model_shares_spread_over_replicas": {k: round(v / tot, 3) for k, v in model_spread.items()}})
    STATS.notes.append("topology [per-agent load, model from the chunks' volumes]: first replica "
                       f"{RESULTS['load']['model_shares_first_replica']}, spread over replicas "
                       f"{RESULTS['load']['model_shares_spread_over_replicas']}")
    load = RESULTS["load"]
    assert all(v > 0 for v in load["shares"].values()), f"an agent served nothing: {load['shares']}"
    # Reading from the first listed replica gave 71/29/0 % (busiest 2.1x the mean); spreading gave
    # 1.4x-1.6x in runs on this data: the shares depend on where the volumes landed and on which
    # files the readers happened to pick, so the bound leaves room for that and still fails the
    # first-replica policy.
    assert load["max_over_mean"] < 1.8, (f"reads not spread over the replicas: {load['shares']} (model, "
                                         f"spread: {load['model_shares_spread_over_replicas']})")
    alt = os.environ.get("INTEG_TOPO_ALT_MOUNT_BIN")
    if alt:
        ms = [topo.mount(i, args=["-cacheCapacityMB=8"], binary=alt, name=f"alt-mount{i}") for i in range(2)]
        try:
            for m in ms:
                m.start()
            RESULTS["load_alt"] = measure_load(topo, ms, files, f"alt build {alt}")
        finally:
            for m in ms:
                m.stop()


def test_kill9_volume_server_and_agent(topo, mounts, files):
    def inject(v):
        v.kill9()

    def heal(v):
        v.start_volume()
        v.wait_volume()
        v.start_agent()

    run_fault(topo, mounts, files, "kill -9 volume server + agent", inject, heal, victim=_pick_victim(topo, mounts, files))


def test_kill9_agent_only(topo, mounts, files):
    run_fault(topo, mounts, files, "kill -9 agent only", lambda v: v.agent.kill9(), lambda v: v.start_agent(),
              victim=_pick_victim(topo, mounts, files))


def test_link_down(topo, mounts, files):
    def inject(v):
        topo.lan.set_link(v.host.name, up=False)

    def heal(v):
        topo.lan.set_link(v.host.name, up=True)

    run_fault(topo, mounts, files, "link down (volume server + agent host)", inject, heal,
              victim=_pick_victim(topo, mounts, files), hold=LINK_DOWN_S)


def test_delay_and_loss(topo, mounts, files):
    """50 ms delay and 1% loss in each direction of the busiest agent's link: tc netem where the
    kernel has it, else the same in user space (harness/wire.py: the link's bridge port handed to a
    process that delays and drops frames, as netem would)."""
    state = {}

    def inject(v):
        state["how"] = topo.lan.impair(v.host.name, 50, 1.0, seed=len(RESULTS["faults"]) + 1)

    def heal(v):
        state["wire"] = topo.lan.clear_impairment(v.host.name)

    try:
        rec = run_fault(topo, mounts, files, "50 ms delay + 1% loss (each direction) on an agent's link",
                        inject, heal, victim=_pick_victim(topo, mounts, files))
    except NetnsUnavailable as e:
        RESULTS["faults"].append({"fault": "50 ms delay + 1% loss", "skipped": str(e)})
        STATS.notes.append(f"topology [50 ms delay + 1% loss]: skipped: {e}")
        pytest.skip(str(e))
    rec["impaired_by"] = state.get("how")
    rec["wire"] = state.get("wire")
    STATS.notes.append(f"  impaired by {state.get('how')}; wire counters at the heal: {state.get('wire')}")
    if state.get("wire"):
        w = state["wire"]
        sent = w["to_host"]["frames"] + w["to_bridge"]["frames"]
        lost = w["to_host"]["lost"] + w["to_bridge"]["lost"]
        assert sent > 0 and lost > 0, f"the wire carried no traffic or lost none: {w}"


def test_slow_lossy_link(topo, mounts, files):
    """What this kernel can do without netem: a token bucket (tc tbf, 40 Mbit/s, packets that would
    queue longer than 50 ms dropped) on both ends of the busiest agent's link: under the readers'
    load that is up to 50 ms of queueing delay plus loss."""
    state = {}

    def inject(v):
        topo.lan.shape(v.host.name, 40, 50)

    def heal(v):
        state["qdisc"] = topo.lan.qdisc_stats(v.host.name)
        topo.lan.clear_impairment(v.host.name)

    try:
        rec = run_fault(topo, mounts, files, "slow lossy link (tbf 40 Mbit/s, 50 ms queue) on an agent's link",
                        inject, heal, victim=_pick_victim(topo, mounts, files))
    except NetnsUnavailable as e:
        pytest.skip(str(e))
    rec["qdisc"] = state.get("qdisc")
    STATS.notes.append(f"  qdisc counters at the heal: {state.get('qdisc')}")


def test_filer_restart(topo, mounts, files):
    def inject(_):
        topo.stop_filer()

    def heal(_):
        topo.start_filer()

    run_fault(topo, mounts, files, "filer restart", inject, heal, victim=False,
              wait_healed=lambda: (lambda: topo._agents_registered()))


def test_vacuum_under_load(topo, mounts, files):
    # garbage in every volume: files written then half overwritten, half deleted
    junk = {f"{ROOT}/junk/j{i}": os.urandom(200_000 + i) for i in range(60)}
    for p, b in junk.items():
        topo.put(p, b)
    for i, p in enumerate(sorted(junk)):
        if i % 2:
            topo.put(p, os.urandom(150_000 + i))
        else:
            topo.delete(p)

    def garbage():
        g = {}
        for v in topo.vols:
            st = http_request(f"http://{v.addr}/status", timeout=10).json()
            for vol in st.get("Volumes") or []:
                if vol.get("DeletedByteCount", 0) > 0:
                    g.setdefault(int(vol["Id"]), []).append(v.agent.name)
        return g

    wait_until("deletions to reach the volume servers", garbage, 60)
    before = garbage()

    def revisions():
        out = {}
        for v in topo.vols:
            for vol in v.agent.sidecar("/stats").json()["volumes"]:
                out[(v.agent.name, vol["id"])] = vol["compactionRevision"]
        return out

    rev0 = revisions()
    state = {}

    def inject(_):
        t = time.monotonic()
        r = http_request(topo.master_url + "/vol/vacuum?garbageThreshold=0.0001", timeout=300)
        assert r.status == 200, r.body[:300]
        state["vacuum_s"] = time.monotonic() - t

    def compacted():
        now = revisions()
        return {k for k, rv in now.items() if k[1] in before and rv != rev0.get(k)}

    rec = run_fault(topo, mounts, files, "vacuum under load", inject, lambda _: None, victim=False,
                    hold=2.0, wait_healed=lambda: (lambda: len(compacted()) >= sum(len(x) for x in before.values())))
    rec["vacuum_call_s"] = round(state.get("vacuum_s", -1), 2)
    rec["compacted_replicas"] = sorted(f"{a}:v{vid}" for a, vid in compacted())
    assert compacted(), f"no replica was compacted (garbage in {before})"


_victim_cache: dict = {}


def _pick_victim(topo, mounts, files):
    """The volume host whose agent serves the most bytes right now (a fault there hurts most)."""
    tracker = LoadTracker(topo)
    load = ReadLoad(mounts, files, seed=99, kinds=("seq",)).start()
    try:
        l0 = tracker.sample()
        time.sleep(2)
        l1 = tracker.sample()
    finally:
        load.stop()
    return _busiest_volume_host(topo, l0, l1)

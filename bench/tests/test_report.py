"""bench.report: medians, ratios, load accounting, the table and the JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import report as R

RESULTS = Path(__file__).resolve().parents[1] / "results"
STORED = sorted(RESULTS.glob("*.json"))


def test_median_skips_none_and_empty_is_none():
    assert R.median([3, None, 1, 2]) == 2
    assert R.median([1, 2, 3, 4]) == 2.5
    assert R.median([None, None]) is None
    assert R.median([]) is None


def test_percentile_is_nearest_rank_rounding_down_and_clamped():
    v = [float(i) for i in range(1, 101)]
    assert R.percentile(v, 50) == 51.0
    assert R.percentile(v, 99) == 100.0
    assert R.percentile(v, 99.9) == 100.0
    assert R.percentile(v, 100) == 100.0
    assert R.percentile(v, 0) == 1.0
    assert R.percentile([7.0], 50) == 7.0


def test_latency_stats():
    lat = [10.0, 20.0, 30.0, 40.0]
    s = R.latency_stats(lat, wall_s=2.0)
    assert s["ops"] == 4 and s["iops"] == 2.0 and s["wall_s"] == 2.0
    assert s["mean_us"] == 25.0 and s["max_us"] == 40.0
    assert s["p50_us"] == 30.0 and s["p99_us"] == 40.0


@pytest.mark.parametrize("other,wall,expected", [
    (None, 1.0, False),     # not measured
    (0.05, 0.0, False),     # at the 0.05 s floor
    (0.06, 0.0, True),
    (0.25, 1.0, False),     # a quarter of the wall time
    (0.26, 1.0, True),
    (0.3, None, True),      # no wall time: the floor applies
])
def test_contended(other, wall, expected):
    s = {"wall_s": wall}
    if other is not None:
        s["other_cpu_s"] = other
    assert R.contended(s) is expected


def _client(busy_frac=0.5, busy_s=2.0, user=0.2, sys=0.3):
    return SimpleNamespace(busy_frac=busy_frac, busy_s=busy_s, user=user, sys=sys)


def test_note_load_counts_clients_once():
    # the daemons' CPU plus the clients' (from rusage) is what was measured
    s = {"wall_s": 4.0, "cpu_s": {"client_daemon": 1.0, "weed_server": None}}
    R.note_load(s, _client())
    assert s["machine_busy_frac"] == 0.5
    assert s["other_cpu_s"] == pytest.approx(0.5)       # 2.0 - (1.0 + 0.2 + 0.3)
    assert s["contended"] is False                      # 0.5 <= 4.0 / 4
    # when cpu_s already has the clients, they are not added again
    s = {"wall_s": 1.0, "cpu_s": {"weed_server": 1.0, "client": 0.5}}
    R.note_load(s, _client())
    assert s["other_cpu_s"] == pytest.approx(0.5)
    assert s["contended"] is True                       # 0.5 > 1.0 / 4


def test_note_load_never_negative_and_none_is_a_no_op():
    s = {"wall_s": 1.0, "cpu_s": {"client_daemon": 5.0}}
    R.note_load(s, _client(busy_s=1.0))
    assert s["other_cpu_s"] == 0.0
    s = {"wall_s": 1.0}
    R.note_load(s, None)
    assert s == {"wall_s": 1.0}


def test_summarize():
    samples = [
        {"rep": 0, "attempt": 1, "mb_s": 100.0, "bytes": 10, "contended": True, "warning": "x",
         "cpu_s": {"client_daemon": 1.0, "agent": None}, "peak_rss_mib": {"client_daemon": 50.0}},
        {"rep": 1, "attempt": 0, "mb_s": 300.0, "bytes": 10, "contended": False,
         "cpu_s": {"client_daemon": 3.0, "agent": 2.0}},
        {"rep": 2, "attempt": 0, "mb_s": 200.0, "bytes": 10, "cpu_s": {"client_daemon": 2.0}},
    ]
    m = R.summarize("mb_s", samples)
    assert m["mb_s"] == 200.0 and m["bytes"] == 10
    assert "rep" not in m and "attempt" not in m and "contended" not in m and "warning" not in m
    assert m["cpu_s"] == {"agent": 2.0, "client_daemon": 2.0}
    assert m["peak_rss_mib"] == {"client_daemon": 50.0}
    assert (m["min_mb_s"], m["max_mb_s"]) == (100.0, 300.0)
    assert m["n"] == 3 and m["n_contended"] == 1
    assert R.summarize("mb_s", []) == {}


def test_summarize_without_the_primary_metric():
    m = R.summarize("iops", [{"rep": 0, "wall_s": 1.0}])
    assert m == {"wall_s": 1.0, "n": 1, "n_contended": 0}


WORKLOADS = {"seq1": {"primary": "mb_s", "higher_better": True},
             "ls": {"primary": "seconds", "higher_better": False},
             "rand4k": {"primary": "iops", "higher_better": True}}


def _res(**medians_by_workload):
    return {w: {t: {"median": m} for t, m in per_target.items()} for w, per_target in medians_by_workload.items()}


def test_ratios_orientation_and_latency():
    results = _res(
        seq1={"ours": {"mb_s": 300.0}, "weed": {"mb_s": 100.0}, "http": {"mb_s": 150.0}},
        ls={"ours": {"seconds": 1.0}, "weed": {"seconds": 2.0}},
        rand4k={"ours": {"iops": 1000.0, "p50_us": 10.0, "p99_us": 50.0},
                "weed": {"iops": 100.0, "p50_us": 100.0, "p99_us": 0}})
    r = R.ratios(results, WORKLOADS, ours=["ours", "http"], baselines=["weed", "http"])
    assert r["seq1"] == {"ours/weed": 3.0, "ours/http": 2.0, "http/weed": 1.5}
    assert list(r["seq1"]) == ["ours/weed", "ours/http", "http/weed"]   # ours x baselines order, no http/http
    assert r["ls"] == {"ours/weed": 2.0}                 # lower is better: b/a
    assert r["rand4k"] == {"ours/weed": 10.0, "ours/weed:p50_us": 0.1}  # p99 of 0 gives no ratio
    assert r["_meaning"] == R.RATIOS_MEANING


def test_ratios_skip_missing_and_zero_medians():
    results = _res(seq1={"ours": {"mb_s": 300.0}, "weed": {}}, ls={"ours": {"seconds": 0}})
    results["seq1"]["skipped"] = {"skipped": "why", "samples": []}
    r = R.ratios(results, WORKLOADS, ours=["ours"], baselines=["weed", "skipped", "absent"])
    assert r == {"_meaning": R.RATIOS_MEANING}


def same(a, b) -> bool:
    """Equal, numbers up to float rounding, nested dicts too."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return a == pytest.approx(b, rel=1e-12)
    return a == b


@pytest.mark.parametrize("path", STORED, ids=[p.name for p in STORED])
def test_stored_results_reproduce(path):
    """The JSON of earlier runs (README's table comes from one) is still what these functions
    make of its samples: medians and ratios are unchanged."""
    rep = json.loads(path.read_text())
    for w, per_target in rep["results"].items():
        prim = rep["workloads"][w]["primary"]
        for t, e in per_target.items():
            if e.get("samples"):
                assert same(R.summarize(prim, e["samples"]), e["median"]), (w, t)
    ours = [t for t in rep["targets"] if t.startswith("ours_")]
    baselines = ["weed_default", "weed_tuned", "nullfs", "curl", "ours_http"]
    assert same(R.ratios(rep["results"], rep["workloads"], ours, baselines), rep["ratios"])
    table = R.format_table(rep)
    assert all(t in table for t in rep["targets"])


def test_format_table():
    rep = {
        "targets": {"ours_rdma": {}, "curl": {}},
        "results": {
            "seq1": {"ours_rdma": {"median": {"mb_s": 1790.4}}},
            "seq1_warm": {"ours_rdma": {"median": {"mb_s": 1955.0, "cpu_s_per_gib": {"client_daemon": 0.481,
                                                                                      "agent": None}}}},
            "rand4k": {"ours_rdma": {"median": {"iops": 85862.2, "p50_us": 8.06}}},
            "ls": {"curl": {"median": {"seconds": 0.0041}}},
        },
        "skipped": [{"target": "agent", "workload": "ls", "reason": "no listings"},
                    {"target": "agent", "workload": "rand4k", "reason": "no listings"},
                    {"target": "curl", "workload": "stream10g", "reason": "not a mount"}],
    }
    lines = R.format_table(rep).splitlines()
    assert lines[0] == ""
    hdr = lines[1].split()
    assert hdr[0] == "target" and "seq1" in hdr and "cpu" in hdr
    ours = lines[2].split()
    assert ours[:4] == ["ours_rdma", "1790", "-", "1955"]
    assert "85862" in ours and "8.1" in ours and ours[-1] == "client_daemon=0.48"
    curl = lines[3].split()
    assert curl[0] == "curl" and "0.004" in curl and curl[-1] == "-"
    assert lines[4:] == ["", "skipped:", "  agent (ls,rand4k): no listings", "  curl (stream10g): not a mount"]


def test_format_table_columns_line_up():
    rep = {"targets": {"a": {}, "a_much_longer_name": {}}, "results": {}, "skipped": []}
    lines = R.format_table(rep).splitlines()[1:]
    assert len({ln.index("seq1 MB/s") if "seq1 MB/s" in ln else None for ln in lines[:1]}) == 1
    assert lines[1].index("-") == lines[2].index("-") == lines[0].index("seq1 MB/s")


def test_write_json_is_atomic_and_round_trips(tmp_path):
    out = tmp_path / "sub" / "r.json"
    rep = {"schema": "x", "results": {"seq1": {}}, "n": 1.5}
    R.write_json(rep, out)
    assert json.loads(out.read_text()) == rep
    assert [p.name for p in out.parent.iterdir()] == ["r.json"]
    R.write_json({"schema": "y"}, out)                   # replaces
    assert json.loads(out.read_text()) == {"schema": "y"}


def test_plot_draws_only_measured_workloads_and_the_rss_curve(tmp_path):
    pytest.importorskip("matplotlib")
    from bench.cli import all_panels, colors
    from bench.plot import plot
    from bench.workloads import WORKLOADS as W
    curve = {"ours_rdma": [[0, 25.7, 25.7], [300, 33.2, 33.2], [600, 34.4, 34.4]],
             "weed_default": [[0, 118.0, 118.0], [300, 130.3, 130.3], [600, 138.7, 138.7]]}
    results = {w: {} for w in W}
    results["metawalk"] = {t: {"samples": [{"rss_curve": c, "client_peak_rss_mib": c[-1][2], "files_s": 900.0}],
                               "median": {"client_peak_rss_mib": c[-1][2], "files_s": 900.0}}
                           for t, c in curve.items()}
    rep = {"targets": {"ours_rdma": {}, "weed_default": {}}, "workloads": {w: W[w].spec() for w in W},
           "results": results, "size": "tiny", "repeat": 1,
           "machine": {"nproc": 2, "cpu_model": "x", "kernel": "y"}, "versions": {"weed": "4.48", "git_rev": "abc"}}
    png = tmp_path / "r.png"
    plot(rep, png, all_panels(), colors())
    assert png.stat().st_size > 10_000

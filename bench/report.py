"""What a run reports: medians of the samples, ratios between targets, the JSON file and the
table. Pure functions over plain dicts (unit-tested in bench/tests, no cluster needed)."""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

# sub-dicts of a sample whose values get a median per key (per daemon, per transport, ...)
PER_KEY_MEDIANS = ("cpu_s", "cpu_s_per_gib", "peak_rss_mib", "rss_anon_mib_end", "read_bytes_by_transport")
NOT_MEDIANS = ("rep", "attempt")

RATIOS_MEANING = ("throughput workloads: median(a)/median(b) of the primary metric, > 1 means a is "
                  "faster; ls: median seconds(b)/seconds(a), > 1 means a is faster; '...:p50_us' "
                  "entries are latency ratios a/b, < 1 means a has lower latency")
LATENCY_RATIO_WORKLOADS = {"rand4k": ("p50_us", "p99_us")}


def median(xs):
    """Median of the values that are not None; None when there are none."""
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of an ascending list, nearest rank rounding down."""
    return sorted_values[min(len(sorted_values) - 1, int(q / 100 * len(sorted_values)))]


def latency_stats(lat_us: list[float], wall_s: float) -> dict:
    """IOPS and latency percentiles (the fields seaweed-randread prints) of ascending latencies."""
    return dict(ops=len(lat_us), wall_s=wall_s, iops=len(lat_us) / wall_s, mean_us=sum(lat_us) / len(lat_us),
                p50_us=percentile(lat_us, 50), p90_us=percentile(lat_us, 90), p99_us=percentile(lat_us, 99),
                p999_us=percentile(lat_us, 99.9), max_us=lat_us[-1])


def contended(sample: dict) -> bool:
    """Other processes (or kernel threads) used more than 1/4 of the run's wall time in CPU
    seconds (at least 0.05 s) during the run."""
    o = sample.get("other_cpu_s")
    return o is not None and o > max(0.05, 0.25 * (sample.get("wall_s") or 0))


def note_load(sample: dict, r) -> None:
    """Machine load during the measured run: busy fraction of all CPUs, and CPU seconds used by
    processes other than the ones measured (other engineers' builds, kernel threads, ...).
    `r`: a clients.ClientResult (busy_frac, busy_s, user, sys) or None (nothing to add)."""
    if r is None:
        return
    sample["machine_busy_frac"] = round(r.busy_frac, 3)
    measured = sum(v for v in (sample.get("cpu_s") or {}).values() if v is not None)
    if "client" not in (sample.get("cpu_s") or {}):
        measured += r.user + r.sys
    sample["other_cpu_s"] = round(max(0.0, r.busy_s - measured), 3)
    sample["contended"] = contended(sample)


def summarize(primary: str, samples: list[dict]) -> dict:
    """Medians of every numeric field of the samples (and per key of the PER_KEY_MEDIANS dicts),
    min/max of the primary metric, the sample count and how many were contended."""
    if not samples:
        return {}
    keys = set()
    for s in samples:
        keys |= {k for k, v in s.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    keys -= set(NOT_MEDIANS)
    med = {k: median([s.get(k) for s in samples]) for k in sorted(keys)}
    for sub in PER_KEY_MEDIANS:
        names = set()
        for s in samples:
            names |= set((s.get(sub) or {}).keys())
        if names:
            med[sub] = {n: median([(s.get(sub) or {}).get(n) for s in samples]) for n in sorted(names)}
    vals = [s[primary] for s in samples if s.get(primary) is not None]
    if vals:
        med["min_" + primary] = min(vals)
        med["max_" + primary] = max(vals)
    med["n"] = len(samples)
    med["n_contended"] = sum(1 for s in samples if s.get("contended"))
    return med


def ratios(results: dict, workloads: dict, ours: list[str], baselines: list[str]) -> dict:
    """For each workload, median(a)/median(b) of its primary metric for a in `ours`, b in
    `baselines` (a != b), oriented so that > 1 means a is better; plus latency ratios (a/b, < 1
    means a is faster) for the workloads in LATENCY_RATIO_WORKLOADS.
    workloads: name -> {"primary": ..., "higher_better": ...} (the JSON's "workloads")."""
    out = {}
    pairs = [(a, b) for a in ours for b in baselines if a != b]
    for w, spec in workloads.items():
        prim = spec["primary"]
        r = {}
        for a, b in pairs:
            ma = (results.get(w, {}).get(a) or {}).get("median") or {}
            mb = (results.get(w, {}).get(b) or {}).get("median") or {}
            if ma.get(prim) and mb.get(prim):
                r[f"{a}/{b}"] = (ma[prim] / mb[prim]) if spec["higher_better"] else (mb[prim] / ma[prim])
                for q in LATENCY_RATIO_WORKLOADS.get(w, ()):
                    if ma.get(q) and mb.get(q):
                        r[f"{a}/{b}:{q}"] = ma[q] / mb[q]
        if r:
            out[w] = r
    out["_meaning"] = RATIOS_MEANING
    return out


def write_json(rep: dict, out: Path) -> None:
    """Writes the report atomically (a reader never sees half a file)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(rep, indent=1, sort_keys=False) + "\n")
    os.replace(tmp, out)


# -- the table printed at the end (README's table is made from the same JSON) -------------------

TABLE_COLUMNS = [  # header, workload, median key, format
    ("seq1 MB/s", "seq1", "mb_s", "{:.0f}"),
    ("seq4 MB/s", "seq4", "mb_s", "{:.0f}"),
    ("seq1w MB/s", "seq1_warm", "mb_s", "{:.0f}"),
    ("seq4w MB/s", "seq4_warm", "mb_s", "{:.0f}"),
    ("rand4k IOPS", "rand4k", "iops", "{:.0f}"),
    ("p50 us", "rand4k", "p50_us", "{:.1f}"),
    ("p99 us", "rand4k", "p99_us", "{:.1f}"),
    ("p99.9 us", "rand4k", "p999_us", "{:.1f}"),
    ("small files/s", "small", "files_s", "{:.0f}"),
    ("ls -lR s", "ls", "seconds", "{:.3f}"),
    ("10G RSS MiB", "stream10g", "client_peak_rss_mib", "{:.0f}"),
    ("walk RSS MiB", "metawalk", "client_peak_rss_mib", "{:.0f}"),
]
CPU_COLUMN = ("seq1w cpu s/GiB", "seq1_warm")


def _median_of(rep: dict, w: str, t: str) -> dict:
    return ((rep["results"].get(w) or {}).get(t) or {}).get("median") or {}


def format_table(rep: dict) -> str:
    """The medians, one row per target of the report (in its order), '-' where nothing was
    measured; then the skipped target/workload pairs, one line per target and reason."""
    hdr = ["target"] + [c[0] for c in TABLE_COLUMNS] + [CPU_COLUMN[0]]
    rows = []
    for t in rep["targets"]:
        row = [t]
        for _, w, k, fmt in TABLE_COLUMNS:
            v = _median_of(rep, w, t).get(k)
            row.append(fmt.format(v) if isinstance(v, (int, float)) else "-")
        cpu = _median_of(rep, CPU_COLUMN[1], t).get("cpu_s_per_gib") or {}
        row.append(", ".join(f"{k}={v:.2f}" for k, v in cpu.items() if v is not None) or "-")
        rows.append(row)
    widths = [max(len(str(r[i])) for r in rows + [hdr]) for i in range(len(hdr))]
    lines = ["", "  ".join(h.ljust(w) for h, w in zip(hdr, widths))]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    if rep.get("skipped"):
        lines += ["", "skipped:"]
        seen = set()
        for s in rep["skipped"]:
            key = (s["target"], s["reason"])
            if key in seen:
                continue
            seen.add(key)
            ws = [x["workload"] for x in rep["skipped"] if (x["target"], x["reason"]) == key]
            lines.append(f"  {s['target']} ({','.join(ws)}): {s['reason']}")
    return "\n".join(lines)

"""The PNG of a report: one panel per (workload, metric) that the workloads declare, bars per
target (medians, whiskers min-max). matplotlib is imported only when plotting."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

FALLBACK_COLORS = ["#e377c2", "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39"]


@dataclass(frozen=True)
class Panel:
    """One plot panel of a workload.
    kind: "bar" (the median of `key` per target), "cpu" (CPU s per GiB stacked by process),
    "lat" (p50 and p99 latency) or "curve" (per target the list `key` of the last sample,
    [[x, y, ...], ...], as a line: metawalk's VmRSS over files walked); hline: (value, label) of a reference line; disk_ceiling: draw
    the run's cold disk ceiling."""

    key: str
    unit: str
    kind: str = "bar"
    hline: tuple[float, str] | None = None
    disk_ceiling: bool = False


def _rotate_labels(ax) -> None:
    ax.tick_params(axis="x", rotation=30, labelsize=8)
    for lbl in ax.get_xticklabels():
        lbl.set_ha("right")


def _cpu_panel(ax, w, res, names, colors, unit) -> None:
    from matplotlib.patches import Patch
    names = [t for t in names if t != "agent"]  # the CLI target's client CPU is exec overhead
    daemons = ["client_daemon", "agent", "weed_server", "client"]
    hatches = {"client_daemon": "", "agent": "xx", "weed_server": "//", "client": ".."}
    bottom = [0.0] * len(names)
    for d in daemons:
        vals = [((res[t]["median"].get("cpu_s_per_gib") or {}).get(d) or 0) for t in names]
        if not any(vals):
            continue
        ax.bar(names, vals, bottom=bottom, color=[colors[t] for t in names], hatch=hatches[d],
               edgecolor="k", alpha=0.8, label=d)
        bottom = [a + b for a, b in zip(bottom, vals)]
    for i, v in enumerate(bottom):
        ax.text(i, v, f"{v:.2f}", ha="center", va="bottom", fontsize=7)
    ax.legend(handles=[Patch(facecolor="white", edgecolor="k", hatch=hatches[d], label=d) for d in daemons],
              fontsize=7)
    ax.set_title(f"{w}: CPU s per GiB read, by process (lower is better)", fontsize=10)
    ax.set_ylabel(unit)
    _rotate_labels(ax)


def _latency_panel(ax, w, res, names, colors, unit) -> None:
    import numpy as np
    x = np.arange(len(names))
    p50 = [res[t]["median"].get("p50_us", 0) for t in names]
    p99 = [res[t]["median"].get("p99_us", 0) for t in names]
    ax.bar(x - 0.2, p50, 0.4, color=[colors[t] for t in names], label="p50")
    ax.bar(x + 0.2, p99, 0.4, color=[colors[t] for t in names], alpha=0.5, hatch="//", label="p99")
    for xi, a, b in zip(x, p50, p99):
        ax.text(xi - 0.2, a, f"{a:.0f}", ha="center", va="bottom", fontsize=7)
        ax.text(xi + 0.2, b, f"{b:.0f}", ha="center", va="bottom", fontsize=7)
    if "nullfs" in names:
        ax.axhline(res["nullfs"]["median"].get("p50_us", 0), ls="--", color="k", lw=1, label="nullfs p50 (floor)")
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax.set_title(f"{w}: latency (lower is better)", fontsize=10)
    ax.set_ylabel(unit)


def _curve_panel(ax, w, res, names, colors, panel) -> None:
    for t in names:
        samples = [s for s in res[t].get("samples") or [] if s.get(panel.key)]
        if not samples:
            continue
        pts = samples[-1][panel.key]
        peak = res[t]["median"].get("client_peak_rss_mib")
        label = f"{t} (peak {peak:.0f} MiB)" if peak else t
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", color=colors[t], label=label)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("files walked", fontsize=8)
    ax.legend(fontsize=7)
    ax.set_title(f"{w}: daemon VmRSS over the walk (lower is better)", fontsize=10)
    ax.set_ylabel(panel.unit)


def _bar_panel(ax, w, spec, panel, res, names, colors, disk) -> None:
    key, unit = panel.key, panel.unit
    vals = [res[t]["median"].get(key) or 0 for t in names]
    lo = [res[t]["median"].get("min_" + key, v) for t, v in zip(names, vals)]
    hi = [res[t]["median"].get("max_" + key, v) for t, v in zip(names, vals)]
    yerr = [[max(0, v - a) for v, a in zip(vals, lo)], [max(0, b - v) for v, b in zip(vals, hi)]]
    bars = ax.bar(names, vals, color=[colors[t] for t in names], yerr=yerr, capsize=3)
    for b, v in zip(bars, vals):
        ax.text(b.get_x() + b.get_width() / 2, b.get_height(), f"{v:,.0f}" if v >= 10 else f"{v:.3g}",
                ha="center", va="bottom", fontsize=7)
    if "nullfs" in names:
        ax.axhline(res["nullfs"]["median"].get(key) or 0, ls="--", color="k", lw=1, label="FUSE ceiling (nullfs)")
        ax.legend(fontsize=7)
    if panel.disk_ceiling and disk:
        ax.axhline(disk, ls=":", color="r", lw=1.2, label="server disk, cold (best dd run of the .dat files)")
        ax.legend(fontsize=7)
    if panel.hline:
        ax.axhline(panel.hline[0], ls="--", color="r", lw=1, label=panel.hline[1])
        ax.legend(fontsize=7)
    primary = key == spec["primary"]
    better = "higher" if spec["higher_better"] else "lower"
    if not primary and key.endswith("_s"):
        better = "higher"
    title = spec["title"] if primary else f"throughput of the same runs ({unit})"
    ax.set_title(f"{w}: {title} ({better} is better)", fontsize=10)
    ax.set_ylabel(unit)
    _rotate_labels(ax)


def colors_for(names: list[str], known: dict[str, str]) -> dict[str, str]:
    """A color per target: its own, else one of FALLBACK_COLORS in turn."""
    out, k = {}, 0
    for n in names:
        if n in known:
            out[n] = known[n]
        else:
            out[n] = FALLBACK_COLORS[k % len(FALLBACK_COLORS)]
            k += 1
    return out


def plot(rep: dict, png: Path, panels: list[tuple[str, Panel]], known_colors: dict[str, str]) -> None:
    """panels: (workload name, Panel) in figure order; workloads without a median are left out."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # only workloads that measured something (a run of a few workloads gets no empty panels)
    panels = [(w, p) for w, p in panels if w in rep["workloads"]
              and any((e or {}).get("median") for e in (rep["results"].get(w) or {}).values())]
    targets = list(rep["targets"])
    colors = colors_for(targets, known_colors)
    ncols = 3
    nrows = max(1, math.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(17, 17 * nrows / 4))
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    disk = (rep.get("ceilings") or {}).get("disk_cold_mb_s")
    for ax, (w, panel) in zip(axes.flat, panels):
        res = rep["results"].get(w, {})
        names = [t for t in targets if (res.get(t) or {}).get("median")]
        if panel.kind == "cpu":
            _cpu_panel(ax, w, res, names, colors, panel.unit)
        elif panel.kind == "lat":
            _latency_panel(ax, w, res, names, colors, panel.unit)
        elif panel.kind == "curve":
            _curve_panel(ax, w, res, names, colors, panel)
        else:
            _bar_panel(ax, w, rep["workloads"][w], panel, res, names, colors, disk)
    m = rep["machine"]
    fig.suptitle(f"seaweed-rdma-mount read benchmark ({rep['size']}, n={rep['repeat']}, medians, whiskers "
                 f"min-max) — {m['nproc']} CPU {m['cpu_model']}, kernel {m['kernel']}, "
                 f"{rep['versions'].get('weed')}, git {str(rep['versions'].get('git_rev'))[:10]}",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(png, dpi=110)
    plt.close(fig)

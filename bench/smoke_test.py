#!/usr/bin/env python3
"""bench-smoke: runs `python -m bench --size tiny` into a temp dir and checks that it completes and
writes valid JSON with the expected keys (and a PNG). No timing assertions."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOP_KEYS = ["schema", "started", "duration_s", "size", "repeat", "params", "machine", "versions",
            "targets", "workloads", "results", "ratios", "skipped", "notes", "plot"]
WORKLOADS = ["seq1", "seq4", "seq1_warm", "seq4_warm", "rand4k", "small", "ls", "stream10g", "metawalk"]
TARGETS = ["ours_rdma", "ours_rdma_cma", "ours_http", "weed_default", "weed_tuned", "curl", "nullfs", "agent"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-smoke-") as tmp:
        out = Path(tmp) / "smoke.json"
        cmd = [sys.executable, "-m", "bench", "--size", "tiny", "--out", str(out), "--build-dir", a.build_dir]
        # the bench package from the repository root, the harness from integration/ (as scripts/bench.sh)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(REPO / "integration")] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        print("running:", " ".join(cmd), flush=True)
        r = subprocess.run(cmd, timeout=850, cwd=REPO, env=env)
        assert r.returncode == 0, f"python -m bench exited {r.returncode}"
        assert out.exists(), "no JSON written"
        rep = json.loads(out.read_text())
        missing = [k for k in TOP_KEYS if k not in rep]
        assert not missing, f"missing keys {missing}"
        assert rep["schema"] == "seaweed-rdma-bench/1"
        assert rep["size"] == "tiny"
        for k in ("nproc", "kernel", "cpu_model", "mem_total_gib"):
            assert k in rep["machine"], f"machine.{k} missing"
        for k in ("weed", "git_rev", "libfuse", "ucx"):
            assert k in rep["versions"], f"versions.{k} missing"
        assert set(TARGETS) <= set(rep["targets"]), rep["targets"].keys()
        for w in WORKLOADS:
            assert w in rep["results"], f"results.{w} missing"
            assert w in rep["workloads"]
            for t, e in rep["results"][w].items():
                assert "samples" in e, f"{w}/{t}: no samples key"
                if not e.get("skipped"):
                    assert e["samples"] or e.get("errors"), f"{w}/{t}: neither samples nor errors"
        # the targets that need nothing but this repo must have produced numbers
        for t in ("nullfs", "curl"):
            for w in WORKLOADS:
                if w in ("stream10g", "metawalk"):
                    continue  # a mount daemon's memory: not measured on these two
                e = rep["results"][w].get(t) or {}
                assert e.get("samples"), f"{w}/{t}: no samples (errors: {e.get('errors')})"
                prim = rep["workloads"][w]["primary"]
                assert prim in e["median"], f"{w}/{t}: median lacks {prim}"
        for s in rep["skipped"]:
            assert s.get("reason"), f"skip without reason: {s}"
        assert rep["plot"] and Path(rep["plot"]).exists(), "no PNG"
        print(f"bench-smoke ok: {out} ({rep['duration_s']} s); skipped: "
              f"{sorted({(s['target'], s['reason'][:60]) for s in rep['skipped']})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

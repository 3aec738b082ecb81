"""The registries of targets and workloads: complete docs, the same matrix of what runs where as
the one-file bench had, and command line validation."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import bench
from bench import cli
from bench.datasets import DataSets
from bench.targets import BASELINES, TARGETS
from bench.workloads import WORKLOADS, throughput

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_target_and_workload_is_documented():
    for name in list(TARGETS) + list(WORKLOADS):
        assert f" {name} " in bench.__doc__, f"{name} missing from bench/__init__.py's docstring"
        assert f"| {name} " in README or f"| {name} /" in README or f"/ {name} |" in README, \
            f"{name} missing from bench/README.md's tables"


def test_registry_order_is_the_report_order():
    assert list(TARGETS) == ["ours_rdma", "ours_rdma_cma", "ours_preload", "ours_preload_cma", "ours_before",
                             "ours_http", "ours_http_noverify", "weed_default", "weed_tuned", "curl", "nullfs", "agent"]
    assert list(WORKLOADS) == ["seq1", "seq4", "seq1_warm", "seq4_warm", "rand4k", "small", "ls", "stream10g",
                              "metawalk"]
    assert set(BASELINES) <= set(TARGETS)
    assert [t for t in TARGETS if TARGETS[t].ours] == ["ours_rdma", "ours_rdma_cma", "ours_preload",
                                                          "ours_preload_cma", "ours_before", "ours_http",
                                                          "ours_http_noverify"]


def test_workload_specs():
    for w in WORKLOADS.values():
        spec = w.spec()
        assert set(spec) == {"title", "unit", "primary", "higher_better", "description"}
        assert all(spec[k] not in ("", None) for k in spec), w.name
        assert w.panels and w.datasets
    assert [w for w in WORKLOADS if WORKLOADS[w].cold] == ["seq1", "seq4"]
    assert not WORKLOADS["ls"].higher_better and not WORKLOADS["stream10g"].higher_better
    assert not WORKLOADS["metawalk"].higher_better


def _session(randread=True):
    return SimpleNamespace(randread_bin="/b/seaweed-randread", has_binary=lambda p: randread)


def test_what_runs_where():
    s = _session()
    skipped = {(t, w): WORKLOADS[w].unsupported(TARGETS[t], s) for t in TARGETS for w in WORKLOADS}
    skipped = {k: v for k, v in skipped.items() if v}
    assert set(skipped) == {("agent", "rand4k"), ("agent", "ls"), ("agent", "stream10g"),
                            ("curl", "stream10g"), ("nullfs", "stream10g"),
                            ("agent", "metawalk"), ("curl", "metawalk"), ("nullfs", "metawalk")}
    assert "exec cost" in skipped[("agent", "rand4k")]
    assert skipped[("agent", "ls")] == "the agent serves needles, not directory listings"
    s = _session(randread=False)
    assert WORKLOADS["rand4k"].unsupported(TARGETS["ours_http"], s) == "/b/seaweed-randread missing"
    assert WORKLOADS["rand4k"].unsupported(TARGETS["curl"], s) is None


def test_data_sets_follow_the_workloads():
    p = {"seq_bytes": 4 << 20, "small_files": 3, "small_size": 10, "ls_entries": 5, "chunk_mb": 1}
    d = DataSets(p, {"ls"})
    assert list(d.sets) == ["ls"] and d.nullfs_sets() == ["ls:5:64"]
    with pytest.raises(AttributeError, match="not part of this run"):
        d.large
    d = DataSets(p, {w for w in WORKLOADS["seq1"].datasets} | {"small"})
    assert d.nullfs_sets() == [f"seq:1:{4 << 20}", f"par:4:{1 << 20}", "small:3:10"]
    with pytest.raises(ValueError):
        DataSets(p, {"nope"})
    d = DataSets({**p, "walk_files": 30, "walk_dirs": 3, "walk_batch": 10}, set(WORKLOADS["metawalk"].datasets))
    assert list(d.sets) == ["walk"] and d.nullfs_sets() == []


def test_throughput_checks_the_byte_count():
    assert throughput(2_000_000, 2_000_000, 2.0) == {"bytes": 2_000_000, "mb_s": 1.0}
    with pytest.raises(Exception, match="read -1 bytes, expected 5"):
        throughput(-1, 5, 1.0)


def test_command_line():
    a = cli.parse_args(["--size", "tiny", "--targets", "nullfs,curl", "--workloads", "ls"])
    assert a.size == "tiny" and a.targets == "nullfs,curl"
    for bad in (["--targets", "ours_rdma,nope"], ["--workloads", "seq9"]):
        with pytest.raises(SystemExit):
            cli.parse_args(bad)

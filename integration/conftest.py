"""pytest fixtures for the real-SeaweedFS integration tests (see harness/__init__.py).

Tests do not depend on their order: `--test-order=reverse|random` (or INTEG_TEST_ORDER, also under
ctest) runs each file's tests backwards or shuffled, keeping each file's tests together so that
module fixtures start once; `--test-order-seed=N` repeats a shuffle (the seed is in the header)."""

from __future__ import annotations

import os
import random
import time

import pytest

import harness
from harness import STATS, Cluster, Mount


def pytest_addoption(parser):
    parser.addoption("--test-order", choices=("file", "reverse", "random"),
                     default=os.environ.get("INTEG_TEST_ORDER") or "file",
                     help="order of the tests inside each file, and of the files (default: file order)")
    parser.addoption("--test-order-seed", type=int, default=None,
                     help="seed of --test-order=random (default: from the clock, shown in the header)")


def pytest_configure(config):
    harness.install_signal_handlers()
    if config.getoption("--test-order") == "random" and config.getoption("--test-order-seed") is None:
        config.option.test_order_seed = time.time_ns() % 1_000_000


def pytest_report_header(config):
    order = config.getoption("--test-order")
    if order == "random":
        return f"test order: random, seed {config.getoption('--test-order-seed')}"
    return f"test order: {order}"


def pytest_collection_modifyitems(session, config, items):
    order = config.getoption("--test-order")
    if order == "file":
        return
    groups: dict[str, list] = {}
    for item in items:
        groups.setdefault(str(item.path), []).append(item)
    mods = list(groups.values())
    if order == "reverse":
        mods = [list(reversed(m)) for m in reversed(mods)]
    else:
        rng = random.Random(config.getoption("--test-order-seed"))
        rng.shuffle(mods)
        for m in mods:
            rng.shuffle(m)
    items[:] = [i for m in mods for i in m]


def pytest_sessionstart(session):
    harness.sweep_stale()


def pytest_sessionfinish(session, exitstatus):
    harness.cleanup_all()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    tr = terminalreporter
    tr.write_sep("-", "integration figures")
    tr.write_line(f"mount binary: {harness.MOUNT_BIN}; {pytest_report_header(config)}")
    tr.write_line(STATS.summary())
    for n in STATS.notes:
        tr.write_line(n)
    for m in STATS.mismatches[:50]:
        tr.write_line("MISMATCH " + m)


@pytest.fixture(scope="session")
def cluster():
    """One plain cluster shared by all tests of the session."""
    from corpus import CLUSTER_ARGS
    with Cluster(name="main", **CLUSTER_ARGS) as c:
        yield c


@pytest.fixture(scope="session")
def corpus(cluster):
    from corpus import build_corpus
    cp = build_corpus(cluster)
    STATS.notes.append(f"corpus: {len(cp.files)} files, {cp.total_bytes} bytes, "
                       f"{len(cp.symlinks)} symlinks, {len(cp.bigdir_names)} entries in {cp.bigdir}; "
                       f"uploaded in {cp.upload_seconds:.1f}s")
    return cp


@pytest.fixture(scope="session")
def ro_mount(cluster, corpus):
    """The corpus cluster mounted read-only (the whole namespace)."""
    with Mount(cluster, ["-readOnly"], name="ro-mount") as m:
        yield m


@pytest.fixture
def mount_factory(cluster):
    """mount_factory(args=[...], cluster=other) -> a started Mount, stopped at teardown."""
    mounts: list[Mount] = []

    def make(args=(), cluster_=None, **kw):
        m = Mount(cluster_ or cluster, list(args), **kw)
        mounts.append(m)
        m.start()
        return m

    yield make
    for m in reversed(mounts):
        m.stop()

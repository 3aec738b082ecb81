"""pytest fixtures for the real-SeaweedFS integration tests (see harness/__init__.py)."""

from __future__ import annotations

import pytest

import harness
from harness import STATS, Cluster, Mount


def pytest_configure(config):
    harness.install_signal_handlers()


def pytest_sessionstart(session):
    harness.sweep_stale()


def pytest_sessionfinish(session, exitstatus):
    harness.cleanup_all()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    tr = terminalreporter
    tr.write_sep("-", "integration figures")
    tr.write_line(f"mount binary: {harness.MOUNT_BIN}")
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

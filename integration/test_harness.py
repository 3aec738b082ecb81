"""The harness itself, without a cluster: the names tests import, expected-content blobs, the
comparison helpers, file ids, and the read plans (ctest: integration.harness, label unit)."""

from __future__ import annotations

import hashlib
import os

import pytest

import harness
from harness import (MiB, BytesBlob, Expected, RandomBlob, compare_stream, first_difference, format_fid,
                     parse_fid, pread_plan, split_path, text_bytes)

# every name the tests, the benchmark and the demo import from `harness`
USED = """Blob BytesBlob Cluster Expected FilerGrpc HarnessError MODE_DIR MODE_PERM MODE_SYMLINK MOUNT_BIN MiB
Mismatch Mount MountError Proc RandomBlob REPO Response STATS Stats TMP_PREFIX WEED_BIN binary_has_flag
cleanup_all compare_stream errno_name filer_pb first_difference format_fid format_mismatches free_port
free_port_pair http_request http_stream install_signal_handlers is_mounted lazy_unmount mounted_points
parse_fid pread_plan quote_path random_bytes read_file_blocks read_with_timeout run sha256_file shielded
split_path sweep_stale tail_file text_bytes upload_tree verify_preads verify_sequential
_register_cleanup _unregister_cleanup register_cleanup unregister_cleanup""".split()


def test_public_names():
    missing = [n for n in USED if not hasattr(harness, n)]
    assert not missing
    assert set(harness.__all__) >= {n for n in USED}
    assert (harness.REPO / "integration" / "harness" / "__init__.py").exists()


def test_random_blob_is_deterministic_and_random_access():
    b = RandomBlob(7, 3 * MiB + 5)
    whole = b.bytes()
    assert len(whole) == b.size
    assert RandomBlob(7, 3 * MiB + 5).read(MiB - 3, 10) == whole[MiB - 3:MiB + 7]   # across a block
    assert b.read(b.size - 2, 100) == whole[-2:]                                 # clipped at EOF
    assert b.read(b.size, 10) == b""
    assert b.sha256() == hashlib.sha256(whole).hexdigest()
    assert RandomBlob(8, 100).bytes() != RandomBlob(7, 100).bytes()


def test_expected_models_offset_writes_and_appends():
    e = Expected(b"abc")
    e.write(5, b"xy")
    e.append(b"!")
    assert e.blob().bytes() == b"abc\0\0xy!"


def test_text_bytes_compresses():
    import zlib
    t = text_bytes(1, 100_000)
    assert len(t) == 100_000 and len(zlib.compress(t)) < len(t) / 2


@pytest.mark.parametrize("a,b,want", [(b"abc", b"abc", -1), (b"abc", b"abd", 2), (b"ab", b"abc", 2),
                                      (b"x" * 1000 + b"y", b"x" * 1001, 1000), (b"", b"", -1)])
def test_first_difference(a, b, want):
    assert first_difference(a, b) == want


def test_compare_stream():
    exp = BytesBlob(os.urandom(10_000))
    blocks = [exp.read(i, 4096) for i in range(0, exp.size, 4096)]
    assert compare_stream("f", blocks, exp) == (exp.size, None)
    n, mm = compare_stream("f", blocks[:-1], exp)
    assert mm and "short" in mm.detail and mm.offset == n
    bad = bytearray(blocks[1])
    bad[17] ^= 1
    n, mm = compare_stream("f", [blocks[0], bytes(bad)] + blocks[2:], exp)
    assert mm.offset == 4096 + 17 and str(mm).startswith("f: offset 4113:")
    n, mm = compare_stream("f", blocks + [b"extra"], exp)
    assert mm and "longer" in mm.detail


def test_file_ids():
    assert parse_fid("3,01637037d6") == (3, 0x01, 0x637037d6)
    assert parse_fid("3,01637037d6_2") == (3, 0x03, 0x637037d6)
    assert parse_fid("7,abcdef0012345678.jpg") == (7, 0xabcdef00, 0x12345678)
    assert format_fid(3, 1, 0x637037d6) == "3,01637037d6"
    for fid in ("3,01637037d6", "65535,ffffffffffffffff12345678"):
        assert format_fid(*parse_fid(fid)) == fid


def test_split_path():
    assert split_path("/a/b/c") == ("/a/b", "c")
    assert split_path("a") == ("/", "a")
    assert split_path("/a/") == ("/", "a")


def test_pread_plan_is_seeded_and_covers_edges():
    plan = pread_plan(10 * MiB, seed=3, count=50, boundaries=[MiB, 2 * MiB])
    assert plan == pread_plan(10 * MiB, seed=3, count=50, boundaries=[MiB, 2 * MiB])
    assert plan != pread_plan(10 * MiB, seed=4, count=50, boundaries=[MiB, 2 * MiB])
    assert plan[-3:] == [(10 * MiB - 1, 10), (10 * MiB, 10), (10 * MiB + 4096, 1)]
    assert all(off >= 0 and n > 0 for off, n in plan)
    assert all(off == 0 for off, _ in pread_plan(0, seed=1, count=3))             # empty file

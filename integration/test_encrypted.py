"""A cluster whose filer encrypts volume data (-filer.encryptVolumeData): AES-256-GCM per chunk,
text gzipped before encryption. The mount must decrypt (and gunzip) transparently."""

from __future__ import annotations

import os
import time

import pytest

from harness import (STATS, MiB, BytesBlob, Cluster, Expected, Mount, RandomBlob, format_mismatches,
                     random_bytes, text_bytes, verify_preads, verify_sequential)

pytestmark = pytest.mark.encrypted

ROOT = "/enc"


@pytest.fixture(scope="module")
def enc_cluster():
    with Cluster(encrypt=True, name="enc") as c:
        yield c


@pytest.fixture(scope="module")
def enc_files(enc_cluster):
    c = enc_cluster
    files = {}  # path -> (blob, expect_compressed)

    def put(rel, blob, compressed=False, **q):
        blob = blob if not isinstance(blob, bytes) else BytesBlob(blob)
        c.put(f"{ROOT}/{rel}", blob, **q)
        files[f"{ROOT}/{rel}"] = (blob, compressed)

    t0 = time.monotonic()
    put("bin/one-byte", random_bytes(1, 1))
    put("bin/4097", random_bytes(2, 4097))
    put("bin/c1048577", RandomBlob(3, MiB + 1), maxMB=1)
    put("bin/m5", RandomBlob(4, 5 * MiB + 7), maxMB=1)
    put("bin/b17", RandomBlob(5, 17 * MiB + 3))  # default maxMB (4)
    put("text/small.txt", text_bytes(6, 30000), compressed=True, content_type="text/plain")
    put("text/multi.txt", text_bytes(7, 3 * MiB + 11), compressed=True, maxMB=1)
    put("text/sniffed.txt", text_bytes(8, 2 * MiB), compressed=True, maxMB=1)  # no Content-Type
    # overwrite part of an encrypted file (newer encrypted chunks on top)
    e = Expected(random_bytes(9, 2 * MiB + 5))
    c.put(f"{ROOT}/bin/overlap", e.buf, maxMB=1)
    for off, n, seed in ((1000, 5000, 10), (MiB - 3, 100, 11), (2 * MiB, 70000, 12)):
        w = random_bytes(seed, n)
        c.put(f"{ROOT}/bin/overlap", w, offset=off)
        e.write(off, w)
    files[f"{ROOT}/bin/overlap"] = (e.blob(), False)
    STATS.notes.append(f"encrypted corpus: {len(files)} files, "
                       f"{sum(b.size for b, _ in files.values())} bytes, uploaded in "
                       f"{time.monotonic() - t0:.1f}s")
    return files


@pytest.fixture(scope="module")
def enc_mount(enc_cluster, enc_files):
    with Mount(enc_cluster, ["-readOnly"], name="enc-mount") as m:
        yield m


def test_filer_encrypts(enc_cluster, enc_files):
    """Harness check: every chunk carries a cipher_key, text chunks are also gzipped, and the
    filer's own read returns the uploaded bytes."""
    bad = []
    for p, (blob, compressed) in enc_files.items():
        chunks = enc_cluster.chunks_of(p)
        if not chunks or not all(ch.get("cipher_key") for ch in chunks):
            bad.append(f"{p}: not all chunks have a cipher_key: {chunks}")
        if compressed and not any(ch.get("is_compressed") for ch in chunks):
            bad.append(f"{p}: expected gzip+encrypt chunks")
        if enc_cluster.get(p) != blob.bytes():
            bad.append(f"{p}: filer GET differs from the upload")
    # the stored needle is ciphertext: a direct volume read is not the clear data
    p = f"{ROOT}/bin/4097"
    fid = enc_cluster.chunks_of(p)[0]["file_id"]
    vid = fid.split(",")[0]
    loc = enc_cluster.grpc.stub.LookupVolume(
        enc_cluster.grpc.pb.LookupVolumeRequest(volume_ids=[vid])).locations_map[vid].locations[0].url
    from harness import http_request
    raw = http_request(f"http://{loc}/{fid}").body
    assert len(raw) == 4097 + 28 and raw != enc_files[p][0].bytes()
    assert not bad, "\n".join(bad)


def test_encrypted_sequential(enc_cluster, enc_files, enc_mount):
    items = [(enc_mount.path / p.lstrip("/"), p, blob) for p, (blob, _) in enc_files.items()]
    bad = verify_sequential(items, enc_cluster)
    assert not bad, format_mismatches(bad)


def test_encrypted_stat(enc_files, enc_mount):
    for p, (blob, _) in enc_files.items():
        assert os.stat(enc_mount.path / p.lstrip("/")).st_size == blob.size, p


def test_encrypted_random_preads(enc_cluster, enc_files, enc_mount):
    items = [(enc_mount.path / p.lstrip("/"), p, blob) for p, (blob, _) in enc_files.items()]
    bad = verify_preads(items, seed=7, count=30, cluster=enc_cluster)
    assert not bad, format_mismatches(bad)

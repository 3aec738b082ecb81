"""bench.clients: client argv builders and the parsers of what the clients print."""

from __future__ import annotations

import json

import pytest

from bench import clients as C

DD_ERR = ("16+0 records in\n16+0 records out\n"
          "16777216 bytes (17 MB, 16 MiB) copied, 0.0253 s, 663 MB/s\n")


def test_dd():
    assert C.dd_argv("/m/f") == ["dd", "if=/m/f", "of=/dev/null", "bs=1M"]
    assert C.dd_argv("/m/f", direct=True)[-1] == "iflag=direct"
    assert C.dd_bytes(DD_ERR) == 16777216
    assert C.dd_bytes("dd: error reading '/m/f': Input/output error\n") == -1
    assert C.dd_bytes(DD_ERR + DD_ERR.replace("16777216", "5")) == 5     # the last summary
    assert C.dd_bytes_total(DD_ERR * 10) == 10 * 16777216
    assert C.dd_bytes_total("") == 0


RANDREAD = {"ops": 100, "iops": 1000.0, "mean_us": 9.0, "p50_us": 8.0, "p90_us": 9.0, "p99_us": 20.0,
            "p999_us": 40.0, "max_us": 90.0, "short_reads": 0, "seconds": 0.1, "errors": 0}


def test_randread():
    assert C.randread_argv("/b/rr", "/m/f", 1.0, 3) == ["/b/rr", "/m/f", "-b", "4096", "-t", "1.0", "-s", "3"]
    s = C.parse_randread(json.dumps(RANDREAD))
    assert s["wall_s"] == 0.1 and s["bytes"] == 100 * 4096 and s["p999_us"] == 40.0
    assert set(C.RANDREAD_FIELDS) <= set(s) and "errors" not in s and "seconds" not in s
    with pytest.raises(ValueError, match="3 read errors"):
        C.parse_randread(json.dumps({**RANDREAD, "errors": 3}))


def test_small_reader_output(tmp_path):
    for i in range(3):
        (tmp_path / f"f{i:06d}").write_bytes(b"x" * (i + 1))
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", C.SMALL_READER, str(tmp_path), "3"], capture_output=True,
                         text=True, check=True).stdout
    j = C.parse_small_reader("warning on stdout\n" + out)
    assert j["files"] == 3 and j["bytes"] == 6 and j["seconds"] >= 0


def test_curl_config(tmp_path):
    cfg = tmp_path / "c.cfg"
    C.write_curl_config(cfg, [("http://v/1,ab", None), ("http://v/2,cd", "0-4095")], write_out=True)
    text = cfg.read_text()
    assert text.count("next\n") == 1
    assert 'url = "http://v/1,ab"' in text and 'range = "0-4095"' in text
    assert text.count("write-out") == 2 and text.count('output = "/dev/null"') == 2


def test_curl_latencies():
    assert C.parse_curl_latencies("0.000300 206 4096\n0.000100 200 4096\n", 4096) == \
        pytest.approx([100.0, 300.0])
    with pytest.raises(ValueError, match="HTTP 404"):
        C.parse_curl_latencies("0.0001 404 0\n", 4096)
    with pytest.raises(ValueError, match="100 bytes"):
        C.parse_curl_latencies("0.0001 206 100\n", 4096)


def _result(wall, user, busy_frac, busy_s, rss, rc=0):
    r = C.ClientResult()
    r.wall, r.user, r.sys, r.busy_frac, r.busy_s, r.maxrss_kb, r.rc = wall, user, 0.5, busy_frac, busy_s, rss, [rc]
    return r


def test_combine():
    assert C.combine([]) is None
    one = _result(1.0, 1.0, 0.5, 1.0, 10)
    assert C.combine([one]) is one
    c = C.combine([one, _result(3.0, 2.0, 0.1, 0.6, 30)])
    assert (c.wall, c.user, c.sys, c.busy_s, c.maxrss_kb) == (4.0, 3.0, 1.0, 1.6, 30)
    assert c.busy_frac == pytest.approx((0.5 * 1 + 0.1 * 3) / 4)
    assert c.ok and c.rc == [0, 0]
    assert not C.combine([one, _result(1.0, 0, 0, 0, 0, rc=1)]).ok


def test_run_clients_measures_and_reports_failures():
    r = C.run_clients([["sh", "-c", "echo out; echo err >&2"], ["sh", "-c", "exit 3"]], timeout=30,
                      env={"BENCH_TEST_VAR": "1"})
    assert r.rc == [0, 3] and not r.ok
    assert r.stdout[0] == "out\n" and r.stderr[0] == "err\n"
    assert r.error().startswith("rc=3")
    assert r.wall > 0
    r = C.run_clients([["sh", "-c", 'test "$BENCH_TEST_VAR" = 1']], timeout=30, env={"BENCH_TEST_VAR": "1"})
    assert r.ok


def test_run_clients_timeout_calls_on_timeout_and_kills():
    called = []
    r = C.run_clients([["sleep", "30"]], timeout=0.3, on_timeout=lambda: called.append(1))
    assert r.timed_out and not r.ok and r.error() == "timeout" and called == [1]
    assert r.wall < 10

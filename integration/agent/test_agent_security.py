"""seaweed-rdma-agent's security surface against a real `weed server`: the cluster's read JWT
enforced over UCX and the sidecar, what the agent listens on, and HTTP endpoints that idle
clients cannot stall (issue 10)."""

from __future__ import annotations

import os
import socket
import time

import pytest

from agent_cluster import Agent, Cluster, http_get, listeners_of, mint_jwt

READ_KEY = "integ-read-key-" + os.urandom(4).hex()
KEY_ENV = {"WEED_JWT_SIGNING_READ_KEY": READ_KEY}


# ---------------------------------------------------------------------------------------------
# read JWT: a cluster whose volume server requires it
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def jwt_cluster():
    c = Cluster(name="agent-jwt", security_toml=f'[jwt.signing.read]\nkey = "{READ_KEY}"\n').start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def jwt_agent(jwt_cluster):
    a = Agent(jwt_cluster, name="agent-jwt", env=KEY_ENV).start()
    yield a
    a.stop()


@pytest.fixture(scope="module")
def protected(jwt_cluster, jwt_agent):
    data = os.urandom(700000)
    jwt_cluster.put("/p/secret.bin", data)
    fid = jwt_cluster.chunks("/p/secret.bin")[0]["file_id"]
    return fid, data


def test_volume_server_requires_the_token(jwt_cluster, protected):
    fid, data = protected
    assert jwt_cluster.volume_get(fid)[0] == 401
    code, body = jwt_cluster.volume_get(fid, headers={"Authorization": "Bearer " + mint_jwt(READ_KEY, fid,
                                                                                          int(time.time()) + 60)})
    assert code == 200 and body == data


def test_agent_refuses_to_start_without_the_key_or_with_another(jwt_cluster):
    for name, env, expect in (("agent-nokey", None, b"requires a read JWT"),
                              ("agent-badkey", {"WEED_JWT_SIGNING_READ_KEY": "not-the-key"}, b"keys differ")):
        a = Agent(jwt_cluster, name=name, env=env)
        a.start(wait=False)
        try:
            rc = a.proc.wait(30)
            assert rc == 1, f"{name} exited {rc}:\n{a.log_text()[-2000:]}"
            assert expect in a.log_path.read_bytes(), a.log_text()[-2000:]
        finally:
            a.stop()


def test_key_from_security_config_file(jwt_cluster, protected):
    """-security.config=FILE (the cluster's own security.toml) instead of the environment, for the
    agent and for `seaweed-rdma-agent read`."""
    fid, data = protected
    toml = str(jwt_cluster.dir / "security.toml")
    a = Agent(jwt_cluster, name="agent-toml", extra=[f"-security.config={toml}"]).start()
    try:
        assert "reads need a read JWT" in a.log_text()
        assert b"AUTH" in a.read(fid).stderr
        r = a.read(fid, extra=[f"-security.config={toml}"])
        assert r.returncode == 0 and r.stdout == data, a.diagnose(r)
    finally:
        a.stop()
    r = Agent(jwt_cluster, name="agent-badtoml", extra=["-security.config=/nonexistent/security.toml"])
    r.start(wait=False)
    try:
        assert r.proc.wait(30) == 1 and b"/nonexistent/security.toml" in r.log_path.read_bytes()
    finally:
        r.stop()


def test_ucx_reads_need_a_valid_token(jwt_agent, protected):
    fid, data = protected
    a = jwt_agent
    now = int(time.time())
    before = {r: a.counter(f'seaweed_agent_auth_failures_total{{path="ucx",reason="{r}"}}')
              for r in ("missing", "signature", "expired", "wrong_fid")}
    vid, rest = fid.split(",")
    other_fid = f"{vid},{int(rest[:-8], 16) + 1:x}{rest[-8:]}"
    refused = {
        "missing": a.read(fid),
        "signature": a.read(fid, env={"WEED_JWT_SIGNING_READ_KEY": "wrong-key"}),
        "expired": a.read(fid, extra=[f"-jwt={mint_jwt(READ_KEY, fid, now - 5)}"]),
        "wrong_fid": a.read(fid, extra=[f"-jwt={mint_jwt(READ_KEY, other_fid, now + 60)}"]),
    }
    for reason, r in refused.items():
        assert r.returncode == 1 and r.stdout == b"", (reason, a.diagnose(r))
        assert b"AUTH" in r.stderr, (reason, a.diagnose(r))
    for reason, n in before.items():
        assert a.counter(f'seaweed_agent_auth_failures_total{{path="ucx",reason="{reason}"}}') > n, reason
    # Valid: minted by the client from the key, or given as a token (python-minted, HS256/HS512).
    r = a.read(fid, env=KEY_ENV)
    assert r.returncode == 0 and r.stdout == data, a.diagnose(r)
    r = a.read(fid, offset=5000, size=70000, env=KEY_ENV)
    assert r.returncode == 0 and r.stdout == data[5000:75000], a.diagnose(r)
    for alg in ("HS256", "HS512"):
        r = a.read(fid, extra=[f"-jwt={mint_jwt(READ_KEY, fid, now + 60, alg)}"])
        assert r.returncode == 0 and r.stdout == data, (alg, a.diagnose(r))


def test_sidecar_reads_need_a_valid_token_in_both_forms(jwt_agent, protected):
    fid, data = protected
    a = jwt_agent
    now = int(time.time())
    vid, rest = fid.split(",")
    key, cookie = int(rest[:-8], 16), int(rest[-8:], 16)
    forms = [f"/read?file_id={fid}&offset=100&size=5000",
             f"/read?volume={vid}&needle={key}&cookie={cookie}&offset=100&size=5000"]
    other_fid = f"{vid},{key + 1:x}{rest[-8:]}"
    bad_tokens = {"signature": mint_jwt("wrong-key", fid, now + 60), "expired": mint_jwt(READ_KEY, fid, now - 5),
                  "wrong_fid": mint_jwt(READ_KEY, other_fid, now + 60)}
    before = a.counter('seaweed_agent_auth_failures_total{path="sidecar",reason="missing"}')
    for path in forms:
        assert a.sidecar(path)[0] == 401, path
        for reason, token in bad_tokens.items():
            assert a.sidecar(path + f"&jwt={token}")[0] == 401, (path, reason)
            assert a.sidecar(path, headers={"Authorization": f"Bearer {token}"})[0] == 401, (path, reason)
        good = mint_jwt(READ_KEY, fid, now + 60)
        code, body, _ = a.sidecar(path + f"&jwt={good}")
        assert code == 200 and body == data[100:5100], (path, code, body[:200])
        code, body, _ = a.sidecar(path, headers={"Authorization": f"Bearer {good}"})
        assert code == 200 and body == data[100:5100], (path, code, body[:200])
    assert a.counter('seaweed_agent_auth_failures_total{path="sidecar",reason="missing"}') == before + 2
    for reason in bad_tokens:
        assert a.counter(f'seaweed_agent_auth_failures_total{{path="sidecar",reason="{reason}"}}') >= 4, reason


# ---------------------------------------------------------------------------------------------
# listening surface and idle connections (plain cluster)
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster():
    c = Cluster(name="agent-surface").start()
    yield c
    c.stop()


@pytest.mark.parametrize("ip", [None, "127.0.0.1"], ids=["default-flags", "ip-127.0.0.1"])
def test_listeners_are_exactly_the_expected_ones(cluster, ip):
    """UCX listener, UCX's own tcp iface, sidecar, metrics: four sockets, all on 127.0.0.1 (UCX's
    tcp transport used to add one on every interface, even with -ip=127.0.0.1)."""
    a = Agent(cluster, name=f"agent-ss-{ip or 'default'}", ip=ip).start()
    try:
        fid = cluster.upload_needle(os.urandom(100000))
        r = a.read(fid)  # UCX may open more on its first connection
        assert r.returncode == 0, a.diagnose(r)
        found = listeners_of(a.proc.pid)
        others = [entry for entry in found if entry[0] != "127.0.0.1"]
        assert not others, f"listeners off loopback: {found}"
        ports = {p for _, p in found}
        assert {a.port, a.sidecar_port, a.metrics_port} <= ports, found
        assert len(found) == 4, f"expected UCX, UCX tcp iface, sidecar, metrics; got {found}"
    finally:
        a.stop()


def test_health_answers_with_16_idle_connections(cluster):
    a = Agent(cluster, name="agent-idle").start()
    try:
        for port, path in ((a.sidecar_port, "/health"), (a.metrics_port, "/metrics")):
            idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(16)]
            try:
                for _ in range(3):  # again and again, not just once
                    t = time.monotonic()
                    code, body, _ = http_get(f"http://127.0.0.1:{port}{path}", timeout=10)
                    took = time.monotonic() - t
                    assert code == 200, (port, path, code)
                    assert took < 1.0, f"{path} took {took:.2f} s with 16 idle connections"
            finally:
                for s in idle:
                    s.close()
    finally:
        a.stop()


def test_separate_sidecar_and_metrics_addresses(cluster):
    """-sidecar.ip / -metrics.ip put those endpoints elsewhere than -ip (here 127.0.0.2)."""
    a = Agent(cluster, name="agent-ips", extra=["-sidecar.ip=127.0.0.2", "-metrics.ip=127.0.0.3"]).start()
    try:
        found = dict((p, addr) for addr, p in listeners_of(a.proc.pid))
        assert found[a.sidecar_port] == "127.0.0.2" and found[a.metrics_port] == "127.0.0.3", found
        assert found[a.port] == "127.0.0.1"
        assert http_get(f"http://127.0.0.2:{a.sidecar_port}/health")[0] == 200
    finally:
        a.stop()

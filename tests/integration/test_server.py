"""rampart-server end to end: first start, tenants, tokens, roles, audit,
paging, the tenant CA at rest, metrics, IPv6, the route table."""
import datetime
import json
import os
import socket
import ssl
import subprocess
import time

import pytest
import requests

from conftest import binary, run
from server_fixture import *  # noqa: F401,F403  (fixtures)
from server_fixture import Server


def test_first_start_defaults(tmp_path):
    """With no arguments: ./rampart-data (or $RAMPART_DATA), 127.0.0.1:8443
    unless taken, a generated P-256 certificate with the loopback SANs, a
    0600 master key and database, the bootstrap token printed once."""
    env = dict(os.environ, RAMPART_DATA=str(tmp_path / "envdata"))
    # The default port may be taken on a shared machine: run with an explicit
    # port but every other default (data dir from the environment).
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    p = subprocess.Popen([binary("rampart-server"), "--listen", f"127.0.0.1:{port}"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp_path)
    try:
        lines = []
        for line in p.stdout:
            lines.append(line)
            if line.startswith("rampart-server: ready"):
                break
        text = "".join(lines)
        assert f"https://127.0.0.1:{port}" in text
        assert "bootstrap platform token" in text
        d = tmp_path / "envdata"
        for name in ("master.key", "server.key", "rampart.db"):
            assert (d / name).stat().st_mode & 0o077 == 0, name
        assert (d / "master.key").stat().st_size == 32
        pem = ssl.get_server_certificate(("127.0.0.1", port))
        info = run(["openssl", "x509", "-noout", "-text"], input=pem).stdout
        assert "prime256v1" in info or "P-256" in info
        assert "DNS:localhost" in info and "IP Address:127.0.0.1" in info and "IP Address:0:0:0:0:0:0:0:1" in info
        fpr = run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"], input=pem).stdout
        assert fpr.strip().split("=", 1)[1] in text
    finally:
        p.terminate()
        assert p.wait(timeout=30) == 0

    # Second start on the same data: same certificate, no new bootstrap token.
    p = subprocess.Popen([binary("rampart-server"), "--listen", f"127.0.0.1:{port}"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp_path)
    try:
        lines = []
        for line in p.stdout:
            lines.append(line)
            if line.startswith("rampart-server: ready"):
                break
        assert "bootstrap platform token" not in "".join(lines)
        assert fpr.strip().split("=", 1)[1] in "".join(lines)
    finally:
        p.terminate()
        assert p.wait(timeout=30) == 0


def test_default_data_dir_is_cwd_rampart_data(tmp_path):
    env = dict(os.environ)
    env.pop("RAMPART_DATA", None)
    p = subprocess.Popen([binary("rampart-server"), "--listen", "127.0.0.1:0"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp_path)
    try:
        for line in p.stdout:
            if line.startswith("rampart-server: ready"):
                break
        d = tmp_path / "rampart-data"
        assert (d / "rampart.db").exists() and (d / "server.crt").exists()
        assert d.stat().st_mode & 0o777 == 0o700
    finally:
        p.terminate()
        assert p.wait(timeout=30) == 0


def test_tls13_only(server):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", server.port)) as raw:
        with pytest.raises(ssl.SSLError):
            ctx.wrap_socket(raw, server_hostname="localhost")
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    with socket.create_connection(("127.0.0.1", server.port)) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as t:
            assert t.version() == "TLSv1.3"
    # plain HTTP on the TLS port gets no HTTP answer
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            data = raw.recv(100)
        except (ConnectionResetError, socket.timeout):
            data = b""
        assert not data.startswith(b"HTTP/")


def test_tenant_lifecycle_and_isolation(server):
    boot = server.bootstrap_token
    r = server.api("GET", "/api/v1/whoami", boot)
    assert r.json()["role"] == "platform" and r.json()["tenant_id"] is None
    a_id, a_admin = server.create_tenant("Acme")
    b_id, b_admin = server.create_tenant("Globex")
    # duplicate name: 409 with a message naming it
    r = server.api("POST", "/api/v1/tenants", boot, json={"name": "Acme"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert "Acme" in r.json()["error"]["message"]

    r = server.api("GET", f"/api/v1/tenants/{a_id}", boot)
    assert r.status_code == 200 and r.json()["name"] == "Acme"
    r = server.api("GET", "/api/v1/tenant", a_admin)
    assert r.json()["id"] == a_id
    r = server.api("GET", "/api/v1/whoami", a_admin)
    assert r.json() == {"token_id": r.json()["token_id"], "tenant_id": a_id, "role": "admin"}

    # tokens of A are invisible to B, by list and by guessed id
    tok = server.create_token(a_admin, "reader", name="ci reader")
    assert tok["token"].startswith("rpt_") and len(tok["token"]) == 47
    assert tok["tenant_id"] == a_id and tok["role"] == "reader"
    r = server.api("GET", f"/api/v1/tokens/{tok['id']}", b_admin)
    assert r.status_code == 404
    r = server.api("DELETE", f"/api/v1/tokens/{tok['id']}", b_admin)
    assert r.status_code == 404
    ids_b = [t["id"] for t in server.api("GET", "/api/v1/tokens", b_admin).json()["items"]]
    assert tok["id"] not in ids_b
    # the token text is never shown again and never stored
    r = server.api("GET", f"/api/v1/tokens/{tok['id']}", a_admin)
    assert r.status_code == 200 and "token" not in r.json()
    assert tok["token"] not in json.dumps(server.db_dump(exclude=()))
    raw = server.db_path.read_bytes() + (server.data_dir / "rampart.db-wal").read_bytes() \
        if (server.data_dir / "rampart.db-wal").exists() else server.db_path.read_bytes()
    assert tok["token"].encode() not in raw

    # the reader token works for reads, is refused for token admin
    rd = tok["token"]
    assert server.api("GET", "/api/v1/tenant", rd).status_code == 200
    r = server.api("POST", "/api/v1/tokens", rd, json={"role": "admin"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    # revoke: immediately unusable, 409 on a second revoke
    r = server.api("DELETE", f"/api/v1/tokens/{tok['id']}", a_admin)
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    r = server.api("GET", "/api/v1/tenant", rd)
    assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert server.api("DELETE", f"/api/v1/tokens/{tok['id']}", a_admin).status_code == 409

    # platform operator mints a token inside a tenant
    r = server.api("POST", f"/api/v1/tenants/{b_id}/tokens", boot, json={"role": "contributor"})
    assert r.status_code == 201 and r.json()["tenant_id"] == b_id
    assert server.api("GET", "/api/v1/whoami", r.json()["token"]).json()["role"] == "contributor"
    r = server.api("POST", "/api/v1/tenants/ten_00000000000000000000000000000000/tokens", boot,
                   json={"role": "reader"})
    assert r.status_code == 404


def test_token_expiry(server, tenant_admin):
    _, admin = tenant_admin
    soon = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    t = server.create_token(admin, "reader", expires_at=soon)
    assert t["expires_at"] == soon
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = server.api("GET", "/api/v1/tenant", t["token"])
        if r.status_code == 401:
            break
        assert r.status_code == 200
        time.sleep(0.25)
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"]
    got = server.api("GET", f"/api/v1/tokens/{t['id']}", admin).json()
    assert got["state"] == "expired"
    for bad, why in [("2001-01-01T00:00:00Z", "future"), ("tomorrow", "RFC 3339"),
                     ("2030-02-31T00:00:00Z", "RFC 3339")]:
        r = server.api("POST", "/api/v1/tokens", admin, json={"role": "reader", "expires_at": bad})
        assert r.status_code == 400 and why in r.json()["error"]["message"], r.text
    r = server.api("POST", "/api/v1/tokens", admin, json={"role": "reader", "expires_in_days": 0})
    assert r.status_code == 400 and "expires_in_days" in r.json()["error"]["message"]
    r = server.api("POST", "/api/v1/tokens", admin, json={"role": "reader", "expires_in_days": 30})
    assert r.status_code == 201 and r.json()["expires_at"]


def test_audit_log(server, tenant_admin):
    tid, admin = tenant_admin
    t = server.create_token(admin, "contributor")
    server.api("DELETE", f"/api/v1/tokens/{t['id']}", admin)
    server.api("POST", "/api/v1/tokens", admin, json={"role": "root"})      # refused: 400
    rd = server.create_token(admin, "reader")["token"]
    server.api("POST", "/api/v1/tokens", rd, json={"role": "admin"})        # refused: 403
    r = server.api("GET", "/api/v1/audit", admin)
    assert r.status_code == 200
    items = r.json()["items"]
    acts = [(i["action"], i["status"]) for i in items]
    assert ("token.create", 201) in acts and ("token.revoke", 200) in acts
    assert ("token.create", 400) in acts and ("token.create", 403) in acts
    assert all(i["tenant_id"] == tid for i in items)
    rev = [i for i in items if i["action"] == "token.revoke"][0]
    assert rev["target"] == t["id"] and rev["method"] == "DELETE"
    bad = [i for i in items if i["status"] == 400][0]
    assert "root" in bad["detail"]
    # reads are not audited, secrets never are
    assert not any(i["method"] == "GET" for i in items)
    assert not any("rpt_" in json.dumps(i) for i in items)
    # the platform sees everything, or one tenant's; tenants only their own
    allrec = server.api("GET", "/api/v1/audit?limit=500", server.bootstrap_token).json()["items"]
    assert any(i["action"] == "tenant.create" for i in allrec)
    one = server.api("GET", f"/api/v1/audit?tenant={tid}", server.bootstrap_token).json()["items"]
    assert one and all(i["tenant_id"] == tid for i in one)
    assert server.api("GET", f"/api/v1/audit?tenant={tid}", admin).status_code == 400
    assert server.api("GET", "/api/v1/audit", rd).status_code == 403


def test_paging(server):
    boot = server.bootstrap_token
    for i in range(7):
        server.create_tenant(f"page-{i}")
    seen, cursor, pages = [], None, 0
    while True:
        q = "/api/v1/tenants?limit=3" + (f"&cursor={cursor}" if cursor else "")
        j = server.api("GET", q, boot).json()
        seen += [t["name"] for t in j["items"]]
        pages += 1
        cursor = j["next_cursor"]
        if not cursor:
            break
    assert seen == [f"page-{i}" for i in range(7)] and pages == 3
    for bad in ("limit=0", "limit=501", "limit=abc", "limit=-1", "cursor=xyz", "cursor=-5",
                "cursor=0", "limit=1&limit=2x"):
        r = server.api("GET", "/api/v1/tenants?" + bad, boot)
        assert r.status_code == 400, bad
        assert r.json()["error"]["code"] == "bad_request"


def test_tenant_ca_key_sealed_at_rest(server):
    tid, _ = server.create_tenant("ca-check")
    rows = server.db_query("SELECT cert_pem, key_sealed, state, generation FROM tenant_cas WHERE tenant_id = ?",
                           (tid,))
    assert len(rows) == 1
    pem, sealed, state, gen = rows[0]
    assert state == "current" and gen == 1
    info = run(["openssl", "x509", "-noout", "-text"], input=pem).stdout
    assert "CA:TRUE" in info and f"O = {tid}" in info and "prime256v1" in info
    nb = run(["openssl", "x509", "-noout", "-startdate", "-enddate"], input=pem).stdout
    start = datetime.datetime.strptime(nb.split("notBefore=")[1].split("\n")[0], "%b %d %H:%M:%S %Y %Z")
    end = datetime.datetime.strptime(nb.split("notAfter=")[1].strip(), "%b %d %H:%M:%S %Y %Z")
    assert 729 <= (end - start).days <= 731
    assert b"PRIVATE KEY" not in sealed and b"-----" not in sealed
    assert len(sealed) > 100
    # the master key is 0600 and a group-readable one is refused at start
    mk = server.data_dir / "master.key"
    assert mk.stat().st_mode & 0o777 == 0o600
    assert server.stop() == 0
    os.chmod(mk, 0o640)
    with pytest.raises(AssertionError, match="chmod 600"):
        server.start()
    os.chmod(mk, 0o600)
    server.start()


def test_metrics_and_healthz(server, tenant_admin):
    _, admin = tenant_admin
    for _ in range(3):
        server.api("GET", "/api/v1/tokens", admin)
    server.api("GET", "/api/v1/nope", admin)
    m = server.api("GET", "/metrics").text
    assert server.api("GET", "/metrics").headers["Content-Type"].startswith("text/plain")
    assert 'rampart_http_requests_total{route="token.list",code="200"} 3' in m
    assert 'rampart_http_requests_total{route="unmatched",code="404"} 1' in m
    assert 'rampart_http_request_duration_seconds_count{route="token.list"} 3' in m
    assert 'rampart_store_op_duration_seconds_count{op="token.find_by_hash"}' in m
    assert 'rampart_http_request_duration_seconds_bucket{route="token.list",le="+Inf"} 3' in m
    open_line = [l for l in m.splitlines() if l.startswith("rampart_http_open_connections ")][0]
    assert int(open_line.split()[1]) >= 1
    assert server.api("GET", "/healthz").json()["status"] == "ok"


def test_ipv6_listen(make_server, tmp_path):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this host")
    try:
        with socket.socket(socket.AF_INET6) as s6:
            s6.bind(("::1", 0))
    except OSError:
        pytest.skip("::1 is not configured on this host")
    s = Server(tmp_path / "v6")
    s.start(listen="[::1]:0")
    try:
        assert s.url.startswith("https://[::1]:")
        assert s.api("GET", "/healthz").status_code == 200
    finally:
        assert s.stop() == 0


def test_route_table_exposed(server):
    out = run([binary("rampart-server"), "--print-routes"]).stdout
    printed = json.loads(out)
    r = server.api("GET", "/api/v1/_routes", server.bootstrap_token)
    assert r.status_code == 200
    assert r.json()["routes"] == printed
    names = {x["name"] for x in printed}
    assert {"tenant.create", "token.create", "token.revoke", "audit.list", "ops.healthz"} <= names
    _, admin = server.create_tenant("routes-t")
    assert server.api("GET", "/api/v1/_routes", admin).status_code == 403


def test_bad_flags():
    for args, frag in [(["--listen", "nonsense"], "host:port"), (["--listen", "127.0.0.1:99999"], "port"),
                       (["--rate-limit", "-3"], "--rate-limit"), (["--max-connections", "0"], "--max-connections"),
                       (["extra"], "unexpected")]:
        p = run([binary("rampart-server")] + args, check=False)
        assert p.returncode in (1, 2) and frag in p.stderr, (args, p.stderr)

"""Hostile input to the operator API: malformed JSON, wrong types, unknown
fields, oversized bodies and headers, Unicode edge cases, SQL
metacharacters in every string field, path and query parameter. Each is a
clear 4xx with a JSON error naming the problem and leaves the store
unchanged; valid-but-odd strings are stored and returned byte for byte."""
import json
import socket
import ssl

import pytest

from server_fixture import Server

SQL_META = [
    "x'; DROP TABLE tenants; --",
    "\" OR \"1\"=\"1",
    "' OR 1=1 --",
    "%",
    "_",
    "\\",
    "`; SELECT * FROM tokens`",
    "Robert'); DELETE FROM tokens WHERE ('a'='a",
    "$(id)",
    "{{7*7}}",
]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("input") / "data", ["--rate-limit", "0"]).start()
    try:
        tid, admin = srv.create_tenant("input-tenant")
        yield {"srv": srv, "tid": tid, "admin": admin, "boot": srv.bootstrap_token}
    finally:
        assert srv.stop() == 0


# (route, token key, a valid body) for every route that takes a body
def write_routes(e):
    return [
        ("POST", "/api/v1/tenants", e["boot"], {"name": "valid-name"}),
        ("POST", "/api/v1/tokens", e["admin"], {"role": "reader", "name": "n"}),
        ("POST", f"/api/v1/tenants/{e['tid']}/tokens", e["boot"], {"role": "reader", "name": "n"}),
    ]


def refused(e, method, path, token, data, expect=400, headers=None, fragment=None):
    srv = e["srv"]
    before = srv.db_dump()
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    r = srv.api(method, path, token, data=data, headers=h)
    assert r.status_code == expect, f"{path} {data!r:.200}: {r.status_code} {r.text[:300]}"
    if expect != 413 or r.headers.get("Content-Type", "").startswith("application/json"):
        err = r.json()["error"]
        assert err["code"] and err["message"]
        if fragment:
            assert fragment in err["message"], err
    assert srv.db_dump() == before, f"{path} {data!r:.100} changed the store"
    return r


MALFORMED = [
    b"{", b"}", b'{"name":}', b'{"name" "x"}', b"nul", b"[]", b'"str"', b"42", b"null",
    b'{"name":"a"} trailing', b'{"name":"a",}', b"{'name':'a'}", b'{"name":"a"\x00}',
    b'{"name":NaN}', b'{"name":Infinity}', b'{"name":"a","name":"b"}',
    b'{"name":"\\x41"}', b'{"name":"\\u12"}', b"\xef\xbb\xbf{\"name\":\"bom\"}",
    b'{"name":' + b"[" * 40 + b"]" * 40 + b"}",
    b'{"a":' * 20 + b"1" + b"}" * 20,
    b" ", b"",
]


def test_malformed_json(env):
    for method, path, tok, _ in write_routes(env):
        for data in MALFORMED:
            refused(env, method, path, tok, data)


def test_wrong_content_type(env):
    for method, path, tok, body in write_routes(env):
        refused(env, method, path, tok, json.dumps(body), expect=415,
                headers={"Content-Type": "text/plain"}, fragment="application/json")
        refused(env, method, path, tok, json.dumps(body), expect=415,
                headers={"Content-Type": "application/jsonx"})


def test_wrong_types_and_unknown_fields(env):
    for method, path, tok, body in write_routes(env):
        for field in body:
            for bad in (1, 1.5, True, [], {}, ["x"], {"a": "b"}):
                b = dict(body, **{field: bad})
                r = refused(env, method, path, tok, json.dumps(b))
                assert field in r.json()["error"]["message"]
        r = refused(env, method, path, tok, json.dumps(dict(body, **{field: 10 ** 30})))
        assert "too big integer" in r.json()["error"]["message"]
        b = dict(body, is_admin=True)
        refused(env, method, path, tok, json.dumps(b), fragment="unknown field 'is_admin'")
        b = dict(body, **{"__proto__": {}})
        refused(env, method, path, tok, json.dumps(b), fragment="unknown field")
    # missing required
    refused(env, "POST", "/api/v1/tenants", env["boot"], "{}", fragment="missing field 'name'")
    refused(env, "POST", "/api/v1/tokens", env["admin"], '{"name":"x"}', fragment="missing field 'role'")
    refused(env, "POST", "/api/v1/tenants", env["boot"], '{"name":null}', fragment="must be a string")


def test_oversized(env):
    srv = env["srv"]
    big = json.dumps({"name": "x" * (70 * 1024)})
    for method, path, tok, _ in write_routes(env):
        refused(env, method, path, tok, big, expect=413)
    # a field over its own limit
    refused(env, "POST", "/api/v1/tenants", env["boot"], json.dumps({"name": "n" * 129}),
            fragment="129 bytes")
    refused(env, "POST", "/api/v1/tokens", env["admin"], json.dumps({"role": "reader", "name": "n" * 500}),
            fragment="limit is 128")
    # oversized headers and path: refused, server keeps serving
    before = srv.db_dump()
    r = srv.api("GET", "/api/v1/tenant", env["admin"], headers={"X-Big": "a" * (20 * 1024)})
    assert 400 <= r.status_code < 500
    r = srv.api("GET", "/api/v1/tokens/" + "a" * 2000, env["admin"])
    assert r.status_code in (404, 414)
    assert srv.db_dump() == before
    assert srv.api("GET", "/healthz").status_code == 200


UNICODE_BAD = [
    (b'{"name":"\xff"}', "invalid"),                    # invalid byte
    (b'{"name":"\xc0\xaf"}', "invalid"),                # overlong '/'
    (b'{"name":"\xed\xa0\x80"}', "invalid"),            # UTF-8 encoded surrogate
    (b'{"name":"\xf4\x90\x80\x80"}', "invalid"),        # beyond U+10FFFF
    (b'{"name":"\\ud800"}', "invalid"),                 # lone high surrogate
    (b'{"name":"\\udc00x"}', "invalid"),                # lone low surrogate
    (b'{"name":"a\\u0000b"}', "\\u0000"),               # NUL
    (b'{"name":"bell\\u0007"}', "control"),
    (b'{"name":"line\\nbreak"}', "control"),
    (b'{"name":"del\\u007f"}', "control"),
    (b'{"name":"c1\\u0085"}', "control"),
    (b'{"name":"evil\\u202etxt.exe"}', "bidirectional"),
    (b'{"name":"iso\\u2066late"}', "bidirectional"),
    (b'{"name":"\\ufeffbom"}', "byte order mark"),
    (b'{"name":"sep\\u2028"}', "line separator"),
    (b'{"name":""}', "empty"),
    (b'{"name":" padded"}', "spaces"),
    (b'{"name":"padded "}', "spaces"),
]


def test_unicode_edge_cases(env):
    srv = env["srv"]
    for data, frag in UNICODE_BAD:
        refused(env, "POST", "/api/v1/tenants", env["boot"], data, fragment=None)
        r = refused(env, "POST", "/api/v1/tokens", env["admin"],
                    data.replace(b'{"name"', b'{"role":"reader","name"'))
        assert frag.split()[0].lower() in r.json()["error"]["message"].lower() or frag == "invalid", \
            (data, r.json())
    # 33 four-byte characters = 132 bytes: over the 128-byte limit
    refused(env, "POST", "/api/v1/tenants", env["boot"], json.dumps({"name": "\U0001F600" * 33}),
            fragment="132 bytes")
    # valid, unusual names are stored and returned exactly
    for name in ("\U0001F512 Rampart", "Ünïcödé", "e\u0301 (NFD)", "\u00e9 (NFC)", "日本語テナント",
                 "\u200dzwj", "a" * 128, "\U0001F600" * 32):
        r = srv.api("POST", "/api/v1/tenants", env["boot"], json={"name": name})
        assert r.status_code == 201, (name, r.text)
        tid = r.json()["tenant"]["id"]
        assert r.json()["tenant"]["name"] == name
        got = srv.api("GET", f"/api/v1/tenants/{tid}", env["boot"]).json()
        assert got["name"] == name
        assert srv.db_query("SELECT name FROM tenants WHERE id = ?", (tid,))[0][0] == name


def test_sql_metacharacters_everywhere(env):
    srv = env["srv"]
    tables = srv.db_query("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
    # stored verbatim where they are valid values
    for s in SQL_META:
        r = srv.api("POST", "/api/v1/tenants", env["boot"], json={"name": "t " + s})
        assert r.status_code == 201, r.text
        assert r.json()["tenant"]["name"] == "t " + s
        r = srv.api("POST", "/api/v1/tokens", env["admin"], json={"role": "reader", "name": "k " + s})
        assert r.status_code == 201 and r.json()["name"] == "k " + s
    # refused where they are not
    for s in SQL_META:
        refused(env, "POST", "/api/v1/tokens", env["admin"], json.dumps({"role": s}),
                fragment="field 'role'")
        refused(env, "POST", "/api/v1/tokens", env["admin"],
                json.dumps({"role": "reader", "expires_at": s}), fragment="expires_at")
        for path in ("/api/v1/tokens/", "/api/v1/tenants/"):
            from urllib.parse import quote
            tok = env["admin"] if "tokens" in path else env["boot"]
            refused(env, "GET", path + quote(s, safe=""), tok, None, expect=404)
            refused(env, "DELETE", "/api/v1/tokens/" + quote(s, safe=""), env["admin"], None, expect=404)
        from urllib.parse import quote
        for q in ("limit", "cursor"):
            refused(env, "GET", f"/api/v1/tokens?{q}={quote(s)}", env["admin"], None, expect=400)
        refused(env, "GET", f"/api/v1/audit?tenant={quote(s)}", env["boot"], None, expect=400)
    # nothing dropped or altered
    assert srv.db_query("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name") == tables
    assert srv.db_query("PRAGMA integrity_check") == [("ok",)]
    names = {t["name"] for t in srv.api("GET", "/api/v1/tenants?limit=500", env["boot"]).json()["items"]}
    assert all(("t " + s) in names for s in SQL_META)


def test_path_edge_cases(env):
    srv = env["srv"]
    for path, want in [("/api/v1/tokens/%00", 404), ("/api/v1/tokens/..%2f..%2fetc", 404),
                       ("/api/v1//tokens", 404), ("/api/v1/tokens/", 404), ("/API/V1/TOKENS", 404),
                       ("/api/v1/tokens/tok_%zz", 404)]:
        r = srv.api("GET", path, env["admin"])
        assert r.status_code in (want, 400), (path, r.status_code)
    r = srv.api("PUT", "/api/v1/tokens", env["admin"], json={})
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    # methods no route takes get the JSON 405 too, not evhttp's HTML 501
    for m in ("OPTIONS", "TRACE", "HEAD"):
        r = srv.api(m, "/api/v1/tokens", env["admin"])
        assert r.status_code == 405, (m, r.status_code, r.text)
        assert r.headers["Content-Type"] == "application/json", (m, r.headers)
        if m != "HEAD":
            assert r.json()["error"]["code"] == "method_not_allowed"
            assert m in r.json()["error"]["message"]


def test_raw_protocol_garbage(env):
    srv = env["srv"]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for junk in (b"\x00\x01\x02\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                 b"POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                 b"POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as t:
                t.sendall(junk)
                try:
                    data = t.recv(200)
                except (ConnectionResetError, ssl.SSLError, socket.timeout):
                    data = b""
                assert data == b"" or data.startswith(b"HTTP/1.1 4") or data.startswith(b"HTTP/1.0 4"), (junk, data)
    assert srv.api("GET", "/healthz").status_code == 200


def test_http_layer_refusals_keep_their_status(env):
    """What evhttp refuses before the router sees it (docs/server.md: an
    HTML page, libevent 2.1 has no hook for it) still carries the right
    status and closes the connection; the server keeps serving."""
    srv = env["srv"]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    cases = [
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 17000 + b"\r\n\r\n", b"400"),
        (b"FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n", b"501"),
        (b"POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n", b"400"),
    ]
    for req, status in cases:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as t:
                t.sendall(req)
                data = b""
                while True:
                    chunk = t.recv(4096)
                    if not chunk:
                        break
                    data += chunk
        head = data.split(b"\r\n\r\n", 1)[0].lower()
        assert data.startswith(b"HTTP/1.1 " + status), (req[:40], data[:200])
        assert b"connection: close" in head, data[:300]
    assert srv.api("GET", "/healthz").status_code == 200

"""Resource limits as attacks: slowloris headers and bodies, more
connections than allowed, a client over its rate, keep-alive reuse, and
graceful shutdown (stop accepting, finish what is in flight, close the
store)."""
import json
import os
import signal
import socket
import ssl
import threading
import time

import pytest

from server_fixture import *  # noqa: F401,F403
from server_fixture import Server


def tls_connect(port, timeout=10):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def metric(srv, name):
    for line in srv.api("GET", "/metrics").text.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    raise AssertionError(f"no metric {name}")


def read_reply(t):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = t.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    m = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
    if m:
        n = int(m[0].split(b":")[1])
        while len(body) < n:
            chunk = t.recv(4096)
            if not chunk:
                break
            body += chunk
    return head, body


def trickle_until_closed(t, payload, pause):
    """Sends payload one byte at a time; returns how many bytes went out
    before the server closed the connection (len(payload) if it never did)."""
    for i, b in enumerate(payload):
        try:
            t.sendall(bytes([b]))
            t.settimeout(pause)
            try:
                if t.recv(1) == b"":
                    return i
            except socket.timeout:
                pass
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            return i
    return len(payload)


def test_slowloris_headers_and_body(make_server):
    srv = make_server("--request-timeout", "2", "--rate-limit", "0")
    head = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n" + b"X-Slow: " + b"a" * 200 + b"\r\n\r\n"
    body_req = (b"POST /api/v1/tenants HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                b"Authorization: Bearer " + srv.bootstrap_token.encode() + b"\r\nContent-Length: 300\r\n\r\n")
    results = {}

    def slow_headers():
        with tls_connect(srv.port) as t:
            results["headers"] = trickle_until_closed(t, head, 0.25)

    def slow_body():
        with tls_connect(srv.port) as t:
            t.sendall(body_req)
            results["body"] = trickle_until_closed(t, b'{"name":"' + b"b" * 280 + b'"}', 0.25)

    threads = [threading.Thread(target=slow_headers), threading.Thread(target=slow_body)]
    for th in threads:
        th.start()
    # while the slow clients hold their connections, others are served
    served = 0
    while any(th.is_alive() for th in threads):
        assert srv.api("GET", "/healthz", timeout=10).status_code == 200
        served += 1
        time.sleep(0.1)
    for th in threads:
        th.join()
    assert served >= 1
    # both were cut off before their request was complete
    assert results["headers"] < len(head), results
    assert results["body"] < 290, results
    assert metric(srv, "rampart_http_deadline_closed_total") >= 2
    assert not srv.db_query("SELECT 1 FROM tenants")


def test_idle_connection_closed(make_server):
    srv = make_server("--request-timeout", "1")
    with tls_connect(srv.port, timeout=30) as t:
        assert t.recv(1) == b""         # closed by the server, nothing sent


def test_connection_limit(make_server):
    srv = make_server("--max-connections", "4", "--rate-limit", "0")
    held = [tls_connect(srv.port) for _ in range(4)]
    for t in held:  # all four complete their handshake and are served
        t.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_reply(t)[0].startswith(b"HTTP/1.1 200")
    done = threading.Event()
    result = {}

    def fifth():
        try:
            with tls_connect(srv.port, timeout=60) as t:
                t.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                result["head"] = read_reply(t)[0]
        except Exception as e:  # noqa: BLE001
            result["error"] = repr(e)
        done.set()

    th = threading.Thread(target=fifth)
    th.start()
    # the fifth client waits (TCP backlog) while four are open
    assert not done.wait(1.5), result
    held.pop().close()
    assert done.wait(30), "the waiting client was never served"
    th.join()
    assert result.get("head", b"").startswith(b"HTTP/1.1 200"), result
    for t in held:
        t.close()
    # the gauge is back to (this scrape's) one connection
    for _ in range(50):
        if metric(srv, "rampart_http_open_connections") == 1:
            break
        time.sleep(0.1)
    assert metric(srv, "rampart_http_open_connections") == 1


def test_rate_limit(make_server):
    srv = make_server("--rate-limit", "2", "--burst", "5")
    codes, retry = [], None
    for _ in range(12):
        r = srv.api("GET", "/healthz")
        codes.append(r.status_code)
        if r.status_code == 429:
            retry = r.headers.get("Retry-After")
            assert r.json()["error"]["code"] == "rate_limited"
    # the fixture's start-up /healthz took one of the five
    assert codes[:4] == [200] * 4, codes
    assert 429 in codes and retry is not None and int(retry) >= 1
    time.sleep(int(retry) + 0.5)
    assert srv.api("GET", "/healthz").status_code == 200
    # rate limiting changes nothing in the store and is counted
    assert srv.api("GET", "/healthz").status_code in (200, 429)
    m = srv.api("GET", "/metrics")
    assert m.status_code in (200, 429)


def test_keep_alive_reuses_connection(make_server):
    srv = make_server("--rate-limit", "0")
    srv.api("GET", "/healthz")
    before = metric(srv, "rampart_http_connections_total")
    for _ in range(30):
        assert srv.api("GET", "/healthz").status_code == 200
    assert metric(srv, "rampart_http_connections_total") == before


def test_graceful_shutdown_finishes_in_flight(make_server):
    srv = make_server("--rate-limit", "0", "--drain-timeout", "60", "--request-timeout", "60")
    body = json.dumps({"name": "in-flight"}).encode()
    req = (b"POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Authorization: Bearer " + srv.bootstrap_token.encode() + b"\r\n"
           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    idle = tls_connect(srv.port)                # an idle keep-alive client
    idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_reply(idle)[0].startswith(b"HTTP/1.1 200")
    busy = tls_connect(srv.port, timeout=30)
    busy.sendall(req + body[:5])                # request half sent
    time.sleep(0.2)
    srv.proc.send_signal(signal.SIGTERM)
    # new connections are refused once the listener is closed
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
            time.sleep(0.05)
        except OSError:
            break
    else:
        raise AssertionError("server still accepts connections after SIGTERM")
    # the idle connection was closed by the server
    idle.settimeout(10)
    assert idle.recv(1) == b""
    # the in-flight request completes
    assert srv.proc.poll() is None
    busy.sendall(body[5:])
    head, reply = read_reply(busy)
    assert head.startswith(b"HTTP/1.1 201"), head
    assert b"connection: close" in head.lower()
    assert json.loads(reply)["tenant"]["name"] == "in-flight"
    assert srv.proc.wait(timeout=30) == 0
    srv.proc = None
    # the store was closed cleanly: the WAL was checkpointed away
    assert not (srv.data_dir / "rampart.db-wal").exists()
    assert srv.db_query("PRAGMA integrity_check") == [("ok",)]
    assert srv.db_query("SELECT name FROM tenants") == [("in-flight",)]


def test_body_limits_and_large_upload_slots(make_server):
    """A body over its route's limit is refused with 413 (read and dropped,
    never buffered whole); routes that take large bodies admit only a few
    such uploads at a time, since evhttp buffers a body before any handler
    or authentication runs."""
    srv = make_server("--rate-limit", "0", "--request-timeout", "60")
    routes = srv.api("GET", "/api/v1/_routes", srv.bootstrap_token).json()["routes"]
    large = [r for r in routes if r["max_body"] > 64 * 1024 and "{" not in r["pattern"]]
    assert large, "no route takes large bodies"
    big = large[0]

    def start_upload(method, path, length):
        t = tls_connect(srv.port, timeout=30)
        t.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {length}\r\n\r\n".encode() + b"{")
        return t

    def finish(t, length):
        t.sendall(b" " * (length - 2) + b"}")
        head, _ = read_reply(t)
        t.close()
        return head

    mib = 1 << 20
    size = min(big["max_body"], mib)
    # a small route: 1 MiB is refused
    assert finish(start_upload("POST", "/api/v1/tenants", mib), mib).startswith(b"HTTP/1.1 413")
    # the large route admits four slow uploads at once...
    held = [start_upload(big["method"], big["pattern"], size) for _ in range(4)]
    time.sleep(0.3)
    # ...refuses a fifth large one while they are in progress...
    assert finish(start_upload(big["method"], big["pattern"], size), size).startswith(b"HTTP/1.1 413")
    # ...but still serves small bodies on it (401: no token)
    assert finish(start_upload(big["method"], big["pattern"], 2), 2).startswith(b"HTTP/1.1 401")
    for h in held:
        h.close()
    # slots are released when those connections go away: the same size
    # is admitted again
    for _ in range(50):
        head = finish(start_upload(big["method"], big["pattern"], size), size)
        if head.startswith(b"HTTP/1.1 401"):
            break
        time.sleep(0.1)
    assert head.startswith(b"HTTP/1.1 401"), head

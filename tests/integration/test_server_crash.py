"""Crash safety: clients keep creating objects while the server is killed
with SIGKILL several times and restarted on the same data. Every write
that was acknowledged with 2xx must be there afterwards, multi-row writes
are all-or-nothing (a tenant always has its CA and first admin token), and
the database passes PRAGMA integrity_check."""
import random
import sqlite3
import threading
import time

import requests

from server_fixture import Server

KILLS = 5


def client_loop(url, boot, admin, stop, acked, counter):
    s = requests.Session()
    n = 0
    while not stop.is_set():
        n += 1
        i = counter.next()
        try:
            if i % 3 == 0:
                r = s.post(url + "/api/v1/tenants", json={"name": f"crash-{i}"},
                           headers={"Authorization": f"Bearer {boot}"}, verify=False, timeout=10)
                if r.status_code == 201:
                    acked["tenants"].append((r.json()["tenant"]["id"], r.json()["admin_token"]["token"]))
            else:
                r = s.post(url + "/api/v1/tokens", json={"role": "reader", "name": f"crash-{i}"},
                           headers={"Authorization": f"Bearer {admin}"}, verify=False, timeout=10)
                if r.status_code == 201:
                    acked["tokens"].append(r.json()["id"])
            if r.status_code >= 300:
                acked["errors"].append((r.status_code, r.text[:200]))
        except requests.RequestException:
            pass    # not acknowledged: may or may not have landed


class Counter:
    def __init__(self):
        self.n = 0
        self.lock = threading.Lock()

    def next(self):
        with self.lock:
            self.n += 1
            return self.n


def test_kill9_loses_no_acknowledged_write(tmp_path):
    import urllib3
    urllib3.disable_warnings()
    rnd = random.Random(1234)
    srv = Server(tmp_path / "data", ["--rate-limit", "0"])
    srv.start()
    boot = srv.bootstrap_token
    tid, admin = srv.create_tenant("crash-base")
    acked = {"tenants": [], "tokens": [], "errors": []}
    counter = Counter()
    for k in range(KILLS):
        stop = threading.Event()
        threads = [threading.Thread(target=client_loop, args=(srv.url, boot, admin, stop, acked, counter))
                   for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(rnd.uniform(0.4, 1.2))
        assert srv.kill9() == -9
        stop.set()
        for t in threads:
            t.join(timeout=60)
        srv.start()
    assert not acked["errors"], acked["errors"][:5]
    assert len(acked["tokens"]) >= 10 and len(acked["tenants"]) >= 3, \
        (len(acked["tokens"]), len(acked["tenants"]))

    # every acknowledged token is present, and works for its tenant
    seen, cursor = set(), None
    while True:
        q = "/api/v1/tokens?limit=500" + (f"&cursor={cursor}" if cursor else "")
        j = srv.api("GET", q, admin).json()
        seen |= {t["id"] for t in j["items"]}
        cursor = j["next_cursor"]
        if not cursor:
            break
    missing = [t for t in acked["tokens"] if t not in seen]
    assert not missing, f"{len(missing)} acknowledged tokens lost"
    for ten, tok in acked["tenants"]:
        assert srv.api("GET", "/api/v1/tenant", tok).json()["id"] == ten
    # all-or-nothing: no tenant without its CA and its initial admin token
    orphans = srv.db_query(
        "SELECT t.id FROM tenants t WHERE NOT EXISTS (SELECT 1 FROM tenant_cas c WHERE c.tenant_id = t.id)"
        " OR NOT EXISTS (SELECT 1 FROM tokens k WHERE k.tenant_id = t.id AND k.role = 3)")
    assert orphans == []
    assert srv.stop() == 0
    con = sqlite3.connect(srv.db_path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()

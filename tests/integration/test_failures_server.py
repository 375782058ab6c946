"""Failure reporting through the service, end to end: devices provisioned by
`rampart-device`, enrolled through the real EST flow (rampart-attest-forge
simulates the boot measurement over the device directory; the server verifies
and issues the platform certificate), crashes captured by rampart-crashwatch
from real crasher programs into each device's failure queue, uploaded by the
uploader (rampart-failq-upload drives rtd_uploader_poll) over mTLS, bucketed
and shown by `rampart failures`. Attacks on the intake (another device named
in the body, oversized and malformed batches, signature injection, replays,
wrong certificates) each leave the store unchanged."""
import csv
import io
import json
import os
import pathlib
import re
import shutil
import subprocess
import time

import pytest
import requests

from conftest import TOP, binary, run
from entity_fixture import Factory, add_manufacturer, group_named, import_records, make_product
from server_fixture import Server

CRASHER_SRC = TOP / "tests" / "crashers" / "crasher.c"
FAILURES = "/device/v1/failures"


def build_crasher(out, *extra):
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "no C compiler to build the crashers"
    out.parent.mkdir(parents=True, exist_ok=True)
    run([cc, "-O0", "-g", "-Wl,--build-id=sha1", "-pthread", *extra, "-o", out, CRASHER_SRC])
    return out


class Device:
    def __init__(self, world, ueid, d, tenant, group):
        self.w, self.ueid, self.dir, self.tenant, self.group = world, ueid, d, tenant, group
        self.cert = d / "platform.pem"
        self.key = d / "platform.key"
        self.queue = d / "failq"

    def post(self, body, ctype="application/json", cert=True):
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return requests.post(self.w.srv.url + FAILURES, data=data, verify=False, timeout=30,
                             headers={"Content-Type": ctype},
                             cert=(str(self.cert), str(self.key)) if cert else None)

    def crash(self, prog, mode, version, component="telemetry", *opts):
        """rampart-crashwatch runs `prog mode` and records the event into this
        device's queue; returns crashwatch's report."""
        out = self.dir / "watch.json"
        run([binary("rampart-crashwatch"), "--component", component, "--version", version,
             "--queue", self.queue, "--json", out, *opts, "--", prog, mode])
        return json.loads(out.read_text())

    def upload(self, *extra, env=None, check=True, url=None):
        p = run([binary("rampart-failq-upload"), "--queue", self.queue, "upload",
                 "--server", url or self.w.srv.url, "--ca", self.w.srv.data_dir / "server.crt",
                 "--cert", self.cert, "--key", self.key, *extra],
                check=check, env=dict(os.environ, **(env or {})))
        return p if check is not True else json.loads(p.stdout)

    def queued(self):
        return json.loads(run([binary("rampart-failq-upload"), "--queue", self.queue,
                               "stats"]).stdout)


class World:
    def __init__(self, srv, tmp):
        self.srv, self.tmp = srv, tmp
        self.f = Factory(tmp / "factory")
        add_manufacturer(srv, self.f)
        r = srv.api("POST", "/api/v1/os-releases", srv.bootstrap_token,
                    json={"name": "rampart-os", "version": "1.0.0", "svn": 1,
                          "sha256": __import__("hashlib").sha256(b"rampart-os-1.0.0").hexdigest()})
        assert r.status_code in (201, 409), r.text
        self.tenants = {}
        for t in ("A", "B"):
            tid, admin = srv.create_tenant(f"fail-{t}-{os.urandom(3).hex()}")
            self.tenants[t] = {"id": tid, "admin": admin, "product": make_product(srv, admin)}
        self.n = 0

    def device(self, tenant="A", group="Field Test", purpose="platform"):
        rec = self.f.provision(1)[0]
        d = self.f.dir / f"dev{self.f.n}"
        r = import_records(self.srv, [rec])
        assert r.status_code == 200, r.text
        t = self.tenants[tenant]
        r = self.srv.api("POST", "/api/v1/devices", t["admin"], json={
            "ueid": rec["ueid"], "group": group_named(t["product"], group)})
        assert r.status_code == 201, r.text
        dev = Device(self, rec["ueid"], d, tenant, group)
        self.enroll(dev, purpose)
        return dev

    def enroll(self, dev, purpose="platform"):
        tid = self.tenants[dev.tenant]["id"]
        r = self.srv.api("POST", f"/.well-known/est/{tid}/nonce")
        assert r.status_code == 200, r.text
        body = dev.dir / "enroll.json"
        run([binary("rampart-attest-forge"), "--dir", dev.dir, "--nonce", r.json()["nonce"],
             "--purpose", purpose, "--out", body, "--key-out", dev.key])
        r = self.srv.api("POST", f"/.well-known/est/{tid}/simpleenroll", data=body.read_text(),
                         headers={"Content-Type": "application/json",
                                  "Accept": "application/x-pem-file"})
        assert r.status_code == 200, r.text
        dev.cert.write_text(r.text)

    def admin(self, tenant="A"):
        return self.tenants[tenant]["admin"]

    def get(self, path, tenant="A"):
        r = self.srv.api("GET", path, self.admin(tenant))
        assert r.status_code == 200, r.text
        return r.json()

    def buckets(self, tenant="A"):
        return self.get("/api/v1/failures/buckets?limit=500", tenant)["items"]

    def events(self, tenant="A"):
        return self.get("/api/v1/failures/events?limit=500", tenant)["items"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("failsrv")
    srv = Server(d / "data", ["--rate-limit", "0"]).start()
    w = World(srv, d)
    w.crashers = {
        "1.3": build_crasher(d / "app" / "1.3" / "crasher"),
        "1.4": build_crasher(d / "app" / "1.4" / "crasher", "-DPADDING"),
    }
    yield w
    assert srv.stop() == 0


def batch(events, batch_id=None, dropped=0):
    return {"batch_id": batch_id or os.urandom(16).hex(), "dropped": dropped, "events": events}


def crash_event(component="injector", fn=("parse", "main"), module="app", version="1.0",
                count=1, **extra):
    ev = {"class": "app_crash", "component_id": component, "component_version": version,
          "time_first": 1700000000, "time_last": 1700000000, "count": count,
          "signal": 11, "si_code": 1, "fault_addr": "0x0", "pc": "0x401000",
          "frames": [{"module": module, "build_id": "ab" * 20, "function": f, "offset": 4,
                      "module_offset": 4096 + i} for i, f in enumerate(fn)]}
    ev.update(extra)
    return ev


def bucket_of(world, component, tenant="A"):
    return [b for b in world.buckets(tenant) if b["component_id"] == component]


def metric(srv, name, **labels):
    text = srv.api("GET", "/metrics").text
    sel = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(rf"^{re.escape(name)}{{{re.escape(sel)}}} (\d+)$", text, re.M)
    return int(m.group(1)) if m else 0


# ---- the honest path: capture, queue, upload, bucket ----

def test_same_crash_on_three_devices_and_two_versions_is_one_bucket(world, tmp_path):
    devs = [world.device() for _ in range(3)]
    before_metric = metric(world.srv, "rampart_failure_events_total", **{"class": "app_crash",
                                                                          "component": "telemetry"})
    titles = set()
    for d in devs:
        res = d.crash(world.crashers["1.3"], "segv", "1.3.0")
        assert res["event"]["class"] == "app_crash"
        titles.add(res["bucket"]["id"])
        up = d.upload()
        assert up["events_sent"] == 1 and up["queued"] == 0, up
    # the app update: rebuilt with other addresses and another build-id
    res = devs[0].crash(world.crashers["1.4"], "segv", "1.4.0")
    titles.add(res["bucket"]["id"])
    assert devs[0].upload()["events_sent"] == 1
    assert len(titles) == 1, "crashwatch itself must give one bucket id"
    (bid,) = titles

    bs = bucket_of(world, "telemetry")
    assert [b["id"] for b in bs] == [bid]
    b = bs[0]
    assert b["devices"] == 3 and b["hits"] == 4 and b["events"] == 4
    assert b["class"] == "app_crash"
    assert "SIGSEGV" in b["title"] and "crash_here" in b["title"]
    per_version = {v["version"]: (v["hits"], v["devices"]) for v in b["versions"]}
    assert per_version == {"1.3.0": (3, 3), "1.4.0": (1, 1)}

    # a different crash of the same app: a second bucket, ranked below
    res = devs[1].crash(world.crashers["1.3"], "abort", "1.3.0")
    assert res["bucket"]["id"] != bid
    assert devs[1].upload()["events_sent"] == 1
    bs = bucket_of(world, "telemetry")
    assert [x["id"] for x in bs] == [bid, res["bucket"]["id"]]
    assert bs[1]["devices"] == 1 and bs[1]["hits"] == 1

    # the stored device of every event is the certificate's
    evs = [e for e in world.events() if e["component_id"] == "telemetry"]
    assert sorted(e["ueid"] for e in evs if e["bucket_id"] == bid) == sorted(
        [devs[0].ueid] * 2 + [devs[1].ueid, devs[2].ueid])

    # the bucket view: per-version counts and sample backtraces
    one = world.get(f"/api/v1/failures/buckets/{bid}")
    assert one["devices"] == 3 and len(one["samples"]) == 4
    fns = [f["function"] for f in one["samples"][0]["frames"]]
    assert fns[:3] == ["crash_here", "call_crash", "main"]
    assert one["samples"][0]["component_version"] == "1.4.0"   # newest first

    # /metrics counts occurrences per class and component
    after = metric(world.srv, "rampart_failure_events_total", **{"class": "app_crash",
                                                                  "component": "telemetry"})
    assert after - before_metric == 5

    # other tenants see none of it; an unknown or malformed id is 404
    assert bucket_of(world, "telemetry", tenant="B") == []
    r = world.srv.api("GET", f"/api/v1/failures/buckets/{bid}", world.admin("B"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = world.srv.api("GET", "/api/v1/failures/buckets/not-a-bucket", world.admin("A"))
    assert r.status_code == 404


def test_cli_list_show_download(world, tmp_path):
    d = world.device()
    ev = crash_event(component="clitool", fn=("render_frame", "loop", "main"), version="2.0")
    assert d.post(batch([ev])).status_code == 200
    assert d.post(batch([crash_event(component="clitool", fn=("other", "main"),
                                     detail='a "quoted", text')])).status_code == 200
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    env.pop("RAMPART_CONFIG", None)

    def cli(*args, check=0):
        p = subprocess.run([binary("rampart"), *map(str, args)], env=env, capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == check, f"{args}: {p.returncode}\n{p.stdout}\n{p.stderr}"
        return p

    cli("login", "--server", world.srv.url, "--token", world.admin(), "--fingerprint",
        world.srv.pin)
    out = cli("failures", "list").stdout
    assert "BUCKET" in out and "DEVICES" in out and "VERSIONS" in out
    bs = json.loads(cli("failures", "list", "--output", "json").stdout)["items"]
    mine = [b for b in bs if b["component_id"] == "clitool"]
    assert len(mine) == 2
    devices = [b["devices"] for b in bs]
    assert devices == sorted(devices, reverse=True), "sorted by impact"
    target = next(b for b in mine if "render_frame" in b["title"])
    assert target["id"] in out
    show = cli("failures", "show", target["id"]).stdout
    assert "render_frame" in show and "app!render_frame+0x4" in show and d.ueid in show
    assert "2.0" in show
    cli("failures", "show", "zz", check=2)
    r = cli("failures", "show", "0" * 32, check=1)
    assert "404" in r.stderr

    # download: CSV (as the server renders it) and JSON
    out_csv = tmp_path / "events.csv"
    cli("failures", "download", "--since", "1h", "--format", "csv", "--out", out_csv)
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    srv_csv = world.srv.api("GET", "/api/v1/failures/events?format=csv&limit=500",
                            world.admin())
    assert srv_csv.status_code == 200 and srv_csv.headers["Content-Type"].startswith("text/csv")
    assert rows == list(csv.DictReader(io.StringIO(srv_csv.text)))
    quoted = [x for x in rows if x["detail"]]
    assert quoted and quoted[0]["detail"] == 'a "quoted", text'
    assert any(x["top_function"] == "render_frame" and x["signal"] == "SIGSEGV" and
               x["ueid"] == d.ueid for x in rows)
    out_json = tmp_path / "events.json"
    cli("failures", "download", "--format", "json", "--out", out_json)
    js = json.loads(out_json.read_text())
    assert {e["id"] for e in js} == {x["event_id"] for x in rows}
    assert all("frames" in e for e in js)
    # a future --since gives nothing; a bad one is a usage error
    r = world.srv.api("GET", "/api/v1/failures/events?since=2999-01-01T00:00:00Z", world.admin())
    assert r.status_code == 200 and r.json()["items"] == []
    cli("failures", "download", "--since", "yesterday", check=2)
    r = world.srv.api("GET", "/api/v1/failures/events?since=yesterday", world.admin())
    assert r.status_code == 400 and "since" in r.json()["error"]["message"]
    r = world.srv.api("GET", "/api/v1/failures/events?format=xml", world.admin())
    assert r.status_code == 400 and "format" in r.json()["error"]["message"]


# ---- attacks on the intake: each refused, the store unchanged ----

def refused(world, dev, body, status, needle, ctype="application/json"):
    before = world.srv.db_dump()
    r = dev.post(body, ctype=ctype)
    assert r.status_code == status, r.text
    if needle:
        assert needle in r.json()["error"]["message"], r.text
    assert world.srv.db_dump() == before
    return r


def test_body_cannot_name_another_device(world):
    me, other = world.device(), world.device()
    for field in ("device_id", "ueid"):
        ev = crash_event(component="spoof")
        ev[field] = other.ueid
        refused(world, me, batch([ev]), 400, field)
        b = batch([crash_event(component="spoof")])
        b[field] = other.ueid
        refused(world, me, b, 400, field)
    # what is stored names the certificate's device, whatever the body says
    r = me.post(batch([crash_event(component="spoof", detail=f"from {other.ueid}")]))
    assert r.status_code == 200
    evs = [e for e in world.events() if e["component_id"] == "spoof"]
    assert [e["ueid"] for e in evs] == [me.ueid]


def test_oversized_and_malformed_batches(world):
    d = world.device()
    big = batch([crash_event(component="big", detail="x" * 250)])
    big["pad"] = "y" * (1024 * 1024)
    refused(world, d, big, 413, None)
    refused(world, d, batch([crash_event(component="many")] * 65), 400, "events")
    refused(world, d, b'{"batch_id": "', 400, None)
    refused(world, d, b"[1, 2]", 400, None)
    refused(world, d, batch([crash_event(count=1.5)]), 400, "count")
    refused(world, d, batch([crash_event(signal="11")]), 400, "signal")
    refused(world, d, batch([dict(crash_event(), **{"class": "meltdown"})]), 400, "meltdown")
    refused(world, d, batch([crash_event()], batch_id="XYZ"), 400, "batch_id")
    refused(world, d, batch([crash_event(exit_code=3)]), 400, "exit_code")
    refused(world, d, batch([]), 400, "events")
    refused(world, d, json.dumps(batch([crash_event()])), 415, None, ctype="text/plain")
    # nesting beyond what the parser accepts is refused before recursion
    refused(world, d, '{"batch_id":' + "[" * 5000 + "]" * 5000 + "}", 400, None)


def test_signature_injection_does_not_merge_buckets(world):
    d = world.device()
    # each pair would hash the same text if the elements were just joined
    pairs = [
        (("a!b", "main"), ("a", "b!main")),
        (("f <- g", "main"), ("f", "g <- main")),
        (("x|y", "z"), ("x", "y|z")),
        (("\u0000\u0000\u0000\u0004main", "x"), ("main", "x")),
    ]
    for i, (fa, fb) in enumerate(pairs):
        comp = f"inject{i}"
        ra = d.post(batch([crash_event(component=comp, fn=fa)]))
        if "\u0000" in fa[0]:
            # NUL (and every control character) is refused outright
            assert ra.status_code == 400, ra.text
            continue
        assert ra.status_code == 200, ra.text
        assert d.post(batch([crash_event(component=comp, fn=fb)])).status_code == 200
        bs = bucket_of(world, comp)
        assert len(bs) == 2, bs
        assert all(b["hits"] == 1 for b in bs)
    for bad in ("ma\nin", "m\x1bain", "ma\x7fin"):
        refused(world, d, batch([crash_event(component="injectc", fn=(bad, "x"))]), 400,
                "function")
    # a module name cannot smuggle a directory or a different file
    refused(world, d, batch([crash_event(component="injectm", module="../libc.so.6")]), 400,
            "module")


def test_replayed_batch_is_counted_once(world):
    d = world.device()
    b = batch([crash_event(component="replay", count=3)])
    r = d.post(b)
    assert r.status_code == 200 and r.json()["duplicate"] is False
    snap = world.srv.db_dump()
    for _ in range(3):
        r = d.post(b)
        assert r.status_code == 200 and r.json() == {"batch_id": b["batch_id"], "accepted": 1,
                                                     "duplicate": True}
    assert world.srv.db_dump() == snap
    (bk,) = bucket_of(world, "replay")
    assert bk["hits"] == 3 and bk["events"] == 1
    # the same id with other content is refused (a new batch needs a new id)
    other = dict(b, events=[crash_event(component="replay", count=4)])
    refused(world, d, other, 409, b["batch_id"])
    # another device may use the same id: batch ids are per device
    d2 = world.device()
    assert d2.post(b).json()["duplicate"] is False
    (bk,) = bucket_of(world, "replay")
    assert bk["hits"] == 6 and bk["devices"] == 2
    assert metric(world.srv, "rampart_failure_batches_total", result="duplicate") >= 3


def test_device_certificates_are_checked(world, tmp_path):
    d = world.device()
    ok = batch([crash_event(component="certs")])
    # the app certificate of the same device is not the platform identity
    app = Device(world, d.ueid, d.dir, d.tenant, d.group)
    app.cert, app.key = tmp_path / "app.pem", tmp_path / "app.key"
    world.enroll(app, purpose="app")
    before = world.srv.db_dump()
    r = app.post(ok)
    assert r.status_code == 403 and "platform" in r.json()["error"]["message"]
    # no client certificate
    r = d.post(ok, cert=False)
    assert r.status_code == 401
    # a self-made certificate with the device's name
    key = tmp_path / "self.key"
    crt = tmp_path / "self.crt"
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", key, "-out", crt, "-subj", f"/CN={d.ueid}/O={world.tenants['A']['id']}",
         "-days", "1"])
    r = requests.post(world.srv.url + FAILURES, data=json.dumps(ok), verify=False, timeout=30,
                      headers={"Content-Type": "application/json"}, cert=(str(crt), str(key)))
    assert r.status_code == 403, r.text
    assert world.srv.db_dump() == before
    # a blocked device is refused, and accepted again once unblocked
    r = world.srv.api("POST", f"/api/v1/devices/{d.ueid}/block", world.admin(),
                      json={"reason": "stolen"})
    assert r.status_code == 200, r.text
    before = world.srv.db_dump(exclude=("audit", "devices"))
    r = d.post(ok)
    assert r.status_code == 403 and "blocked" in r.json()["error"]["message"]
    assert world.srv.db_dump(exclude=("audit", "devices")) == before
    # ping: the bare authenticated device request
    r = requests.get(world.srv.url + "/device/v1/ping", verify=False, timeout=30,
                     cert=(str(app.cert), str(app.key)))
    assert r.status_code == 403
    d2 = world.device()
    r = requests.get(world.srv.url + "/device/v1/ping", verify=False, timeout=30,
                     cert=(str(d2.cert), str(d2.key)))
    assert r.status_code == 200 and r.json() == {"ueid": d2.ueid,
                                                 "tenant_id": world.tenants["A"]["id"]}


def test_crash_dumps_only_where_the_group_allows(world):
    dump_ev = crash_event(component="dumps", dump="AAAA" * 8)
    prod = world.device(group="Production")          # crash dumps not allowed
    field = world.device(group="Field Test")         # allowed
    r = prod.post(batch([dump_ev]))
    assert r.status_code == 200 and r.json()["dumps_discarded"] == 1
    r = field.post(batch([dump_ev]))
    assert r.status_code == 200 and r.json()["dumps_discarded"] == 0
    rows = world.srv.db_query("SELECT ueid, length(dump) FROM failure_events "
                              "WHERE component_id = 'dumps'")
    assert dict(rows) == {prod.ueid: None, field.ueid: 24}


# ---- the uploader: server down, kill -9 between the server's reply and the ack ----

def test_uploader_delivers_everything_once_across_outages(world, tmp_path):
    d = world.device()
    srv = world.srv
    port = srv.port
    for mode in ("segv", "abort", "fpe"):
        d.crash(world.crashers["1.3"], mode, "5.0", "outage")
    urgent = tmp_path / "urgent.json"
    urgent.write_text(json.dumps({"class": "update_fail", "component_id": "outage",
                                  "component_version": "5.1", "time_first": 1700000000,
                                  "time_last": 1700000000, "count": 1, "reason": "hash_mismatch"}))
    run([binary("rampart-failq-upload"), "--queue", d.queue, "record", urgent])
    assert d.queued()["events"] == 4

    # the service is down: attempts fail, nothing leaves the queue
    srv.stop()
    try:
        p = subprocess.Popen([binary("rampart-failq-upload"), "--queue", str(d.queue), "upload",
                              "--server", f"https://127.0.0.1:{port}", "--ca",
                              str(srv.data_dir / "server.crt"), "--cert", str(d.cert), "--key",
                              str(d.key), "--polls", "60", "--backoff-min", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.5)
        assert p.poll() is None, p.communicate()
    finally:
        srv.start(listen=f"127.0.0.1:{port}")
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    up = json.loads(out)
    assert up["attempts_failed"] >= 1 and up["queued"] == 0 and up["events_sent"] == 4, up
    hits = {b["title"]: b["hits"] for b in bucket_of(world, "outage")}
    assert len(hits) == 4 and all(v == 1 for v in hits.values()), hits

    # the service stores the batch, the device dies before its ack: the retry
    # sends the same batch, which the service acknowledges without counting
    d.crash(world.crashers["1.3"], "segv", "5.0", "outage")
    p = d.upload(env={"RP_FAULT": "failq-begin@2"}, check=False)
    assert p.returncode != 0
    assert d.queued()["inflight"] == 1
    snap = srv.db_dump()
    up = d.upload()
    assert up["duplicates"] == 1 and up["queued"] == 0, up
    assert srv.db_dump() == snap
    segv = [b for b in bucket_of(world, "outage") if "SIGSEGV" in b["title"]]
    assert segv[0]["hits"] == 2 and segv[0]["events"] == 2


def test_uploader_strips_dumps_unless_allowed(world, tmp_path):
    d = world.device(group="Field Test")
    d.crash(world.crashers["1.3"], "segv", "6.0", "dumpstrip", "--dump")
    up = d.upload()
    assert up["dumps_stripped"] == 1 and up["events_sent"] == 1
    d.crash(world.crashers["1.3"], "segv", "6.1", "dumpstrip", "--dump")
    up = d.upload("--allow-dumps")
    assert up["dumps_stripped"] == 0 and up["events_sent"] == 1
    rows = dict(world.srv.db_query("SELECT component_version, length(dump) FROM failure_events "
                                   "WHERE component_id = 'dumpstrip'"))
    assert rows["6.0"] is None and rows["6.1"] > 64


# ---- retention ----

def test_retention_purges_events_and_keeps_bucket_counts(tmp_path, monkeypatch):
    monkeypatch.setenv("RAMPART_TEST", "1")
    srv = Server(tmp_path / "data", ["--rate-limit", "0", "--test-failure-retention", "2"]).start()
    try:
        w = World(srv, tmp_path)
        d = w.device()
        assert d.post(batch([crash_event(component="old", count=2)])).status_code == 200
        assert len(w.events()) == 1
        time.sleep(3)
        srv.restart()                    # purged at start (and on the timer)
        assert w.events() == []
        (b,) = w.buckets()
        assert b["hits"] == 2 and b["devices"] == 1 and b["events"] == 0
        assert srv.db_query("SELECT count(*) FROM failure_batches") == [(0,)]
        assert metric(srv, "rampart_failure_events_purged_total") >= 0
        assert srv.db_query("PRAGMA integrity_check") == [("ok",)]
    finally:
        assert srv.stop() == 0
    p = run([binary("rampart-server"), "--test-failure-retention", "5"], check=False,
            env={k: v for k, v in os.environ.items() if k != "RAMPART_TEST"})
    assert p.returncode == 2 and "RAMPART_TEST" in p.stderr
    p = run([binary("rampart-server"), "--failure-retention-days", "0"], check=False)
    assert p.returncode == 2 and "--failure-retention-days" in p.stderr


def test_responses_match_the_openapi_document(world):
    """The documented schemas hold for real, populated replies (the OpenAPI
    walk in test_openapi.py sees these routes with an empty store)."""
    import yaml
    from test_openapi import DOC, check
    doc = yaml.safe_load(DOC.read_text())
    schemas = doc["components"]["schemas"]
    page = world.get("/api/v1/failures/buckets?limit=500")
    assert page["items"]
    check(doc, schemas["FailureBucketPage"], page)
    one = world.get(f"/api/v1/failures/buckets/{page['items'][0]['id']}")
    assert one["samples"]
    check(doc, schemas["FailureBucket"], one)
    evs = world.get("/api/v1/failures/events?limit=500")
    assert {e["class"] for e in evs["items"]} >= {"app_crash", "update_fail"}
    check(doc, schemas["FailureEventPage"], evs)
    d = world.device()
    r = d.post(batch([crash_event(component="schema")]))
    assert r.status_code == 200
    check(doc, schemas["FailureBatchResult"], r.json())

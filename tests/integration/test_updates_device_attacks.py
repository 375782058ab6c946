"""Attacks on the update agent. The device attests to a real rampart-server,
but its device routes (/device/v1/checkin and /device/v1/images) are served
by a hostile service of this test on loopback: the compromised-server
stand-in, holding the repository's online keys (snapshot, timestamp,
director) but not the offline root and targets keys. It requires the
device's mTLS certificate (issued by the real server's tenant CA) like the
real one. Every attack is refused by the device, nothing is installed (the
slot state never changes), the metadata state never moves backwards, and
the refusal is visible (agent status, failure queue, report)."""
import base64
import datetime
import hashlib
import http.server
import ipaddress
import json
import os
import pathlib
import re
import shutil
import socketserver
import ssl
import subprocess
import threading
import time

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import binary, run
from entity_fixture import Factory, add_manufacturer, group_named, import_records, make_product
from server_fixture import Server
from test_updates_device import Device, wait_for

PAYLOAD_TYPE = b"application/vnd.rampart.tuf+json"


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def dump(o) -> bytes:
    return json.dumps(o, sort_keys=True, separators=(",", ":")).encode()


def key_id(pem) -> str:
    der = subprocess.run(["openssl", "pkey", "-in", str(pem), "-pubout", "-outform", "DER"],
                         capture_output=True, check=True).stdout
    return hashlib.sha256(der).hexdigest()


def raw_sig(der: bytes) -> bytes:
    i, out = 2, b""
    for _ in range(2):
        n = der[i + 1]
        out += int.from_bytes(der[i + 2:i + 2 + n], "big").to_bytes(32, "big")
        i += 2 + n
    return out


def sign_env(payload: bytes, keys) -> bytes:
    pae = b"DSSEv1 %d %s %d " % (len(PAYLOAD_TYPE), PAYLOAD_TYPE, len(payload)) + payload
    sigs = []
    for k in keys:
        der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(k)], input=pae,
                             capture_output=True, check=True).stdout
        sigs.append({"keyid": key_id(k), "sig": b64u(raw_sig(der))})
    return dump({"payloadType": PAYLOAD_TYPE.decode(), "payload": b64u(payload),
                 "signatures": sigs})


def payload(env: bytes) -> dict:
    return json.loads(unb64u(json.loads(env)["payload"]))


def when(hours: float) -> str:
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=hours)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def self_signed(tmp):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hostile update service")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    c, k = tmp / "hostile.crt", tmp / "hostile.key"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return c, k


class Hostile:
    """The stand-in service. EST goes to the real server; the device routes
    answer from `self.reply` (a function of the check-in body) and
    `self.images` (sha256 -> bytes), with `self.image_mode` for misbehaviour."""

    def __init__(self, tmp, upstream, cacerts):
        self.upstream = upstream
        self.reply = None
        self.images = {}
        self.image_mode = "honest"
        self.checkins = []
        self.crt, self.key = self_signed(tmp)
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _send(self, code, body, ctype="application/json", extra=()):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in extra:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _authed(self):
                if not self.connection.getpeercert():
                    self._send(401, b'{"error":{"code":"unauthorized","message":"no client certificate"}}')
                    return False
                return True

            def _forward(self, method):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                hdr = {k: v for k, v in self.headers.items()
                       if k.lower() in ("content-type", "accept")}
                r = requests.request(method, outer.upstream + self.path, data=body, headers=hdr,
                                     verify=False, timeout=30)
                self._send(r.status_code, r.content, r.headers.get("Content-Type", "text/plain"))

            def do_GET(self):
                if not self.path.startswith("/device/v1/images/"):
                    return self._forward("GET")
                if not self._authed():
                    return
                data = outer.images.get(self.path.rsplit("/", 1)[1])
                if data is None:
                    return self._send(404, b"{}")
                start = 0
                m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
                if m:
                    start = int(m.group(1))
                if outer.image_mode == "endless":
                    # claims nothing about the length and never stops
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    try:
                        self.wfile.write(data)
                        for _ in range(100000):
                            self.wfile.write(b"\0" * 65536)
                    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                        pass
                    self.close_connection = True
                    return
                if outer.image_mode == "trickle":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    try:
                        for i in range(len(data)):
                            self.wfile.write(data[i:i + 1])
                            self.wfile.flush()
                            time.sleep(0.2)
                    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                        pass
                    self.close_connection = True
                    return
                part = data[start:]
                code = 206 if m else 200
                extra = [("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")] if m else []
                self._send(code, part, "application/octet-stream", extra)

            def do_POST(self):
                if not self.path.startswith("/device/v1/"):
                    return self._forward("POST")
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n))
                if not self._authed():
                    return
                outer.checkins.append(body)
                if self.path != "/device/v1/checkin" or outer.reply is None:
                    return self._send(503, b'{"error":{"code":"unavailable","message":"no"}}')
                self._send(200, dump(outer.reply(body)))

        class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.httpd = S(("127.0.0.1", 0), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.crt, self.key)
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(cacerts)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Repo:
    """The offline repository (root and targets keys here) whose online keys
    the hostile service also holds."""

    def __init__(self, d):
        self.d = pathlib.Path(d)
        self.md = self.d / "metadata"
        run([binary("rampart"), "repo", "init", "--dir", self.d])
        self.key = {r: self.d / "keys" / f"{r}.pem" for r in ("targets", "snapshot", "timestamp",
                                                             "director")}
        self.names = []

    def add(self, pkg, trust):
        run([binary("rampart"), "repo", "add-target", "--dir", self.d, "--trust", trust, pkg])

    def publish(self):
        run([binary("rampart"), "repo", "publish", "--dir", self.d])

    def assign(self, ueid, *names):
        run([binary("rampart"), "repo", "assign", "--dir", self.d, "--ueid", ueid, *names])
        return (self.md / f"director-{ueid}.json").read_bytes()

    def empty_director(self, ueid):
        """An assignment of nothing (the tooling always names a target)."""
        dr = self.assign(ueid, *[n for n in self.names][:1])
        return self.resign(dr, "director", lambda p: p.update(images=[]))

    def files(self):
        return {f: (self.md / f"{f}.json").read_bytes() for f in ("timestamp", "snapshot", "targets")}

    def resign(self, env, role, change):
        p = payload(env)
        change(p)
        return sign_env(dump(p), [self.key[role]])


def reply_of(files, director, roots=()):
    return {"roots": [r.decode() for r in roots], "timestamp": files["timestamp"].decode(),
            "snapshot": files["snapshot"].decode(), "targets": files["targets"].decode(),
            "delegated": {}, "director": director.decode(), "ignored_reports": 0}


class World:
    def __init__(self, tmp):
        self.tmp = tmp
        self.srv = Server(tmp / "data", ["--rate-limit", "0"]).start()
        self.tid, self.admin = self.srv.create_tenant("acme-" + os.urandom(3).hex())
        self.repo = Repo(tmp / "repo")
        fac = tmp / "factory"
        fac.mkdir()
        shutil.copy(self.repo.key["targets"], fac / "platform.key")
        (fac / "platform.pub").write_bytes(subprocess.run(
            ["openssl", "pkey", "-in", str(fac / "platform.key"), "-pubout"],
            capture_output=True, check=True).stdout)
        self.fac = Factory(fac)
        add_manufacturer(self.srv, self.fac)
        r = self.srv.api("GET", f"/.well-known/est/{self.tid}/cacerts",
                         headers={"Accept": "application/x-pem-file"})
        assert r.status_code == 200, r.text
        (tmp / "cacerts.pem").write_text(r.text)
        self.hostile = Hostile(tmp, self.srv.url, tmp / "cacerts.pem")
        self.n = 0

    def make_os(self, version, svn, key=None, tag="", released=True, component=None):
        out = self.tmp / f"os-{version}{tag}.pkg"
        p = run([binary("rampart-device"), "make-os", "--out", out, "--version", version, "--svn",
                 svn, "--key", key or self.fac.dir / "platform.key", "--tuf-root",
                 self.repo.md / "1.root.json",
                 *(["--component-id", component] if component else [])])
        fwid = re.search(r"image digest \(fwid\): ([0-9a-f]{64})", p.stdout).group(1)
        if released:
            r = self.srv.api("POST", "/api/v1/os-releases", self.srv.bootstrap_token,
                             json={"name": "rampart-os", "version": version, "svn": svn,
                                   "sha256": fwid})
            assert r.status_code in (201, 409), r.text
        return out

    def device(self, base_pkg):
        prod = make_product(self.srv, self.admin)
        rec = self.fac.provision(1)[0]
        assert import_records(self.srv, [rec]).status_code == 200
        r = self.srv.api("POST", "/api/v1/devices", self.admin,
                         json={"ueid": rec["ueid"], "group": group_named(prod, "Production")})
        assert r.status_code == 201, r.text
        d = self.fac.dir / f"dev{self.fac.n}"
        run([binary("rampart-device"), "install-os", d, "--slot", "a", base_pkg])
        run([binary("rampart-device"), "configure", d, "--server", self.hostile.url, "--tenant",
             self.tid, "--server-ca", self.hostile.crt])
        self.n += 1
        dev = Device(d, self.tmp / f"device{self.n}.log")
        dev.ueid = rec["ueid"]
        return dev


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    world = World(tmp_path_factory.mktemp("upd-atk"))
    world.base = world.make_os("1.0.0", 1)
    world.good = world.make_os("2.0.0", 2)
    world.repo.add(world.good, world.fac.plat_pub)
    world.good_name = "platform/6f0e2a3c-3b1d-4c7e-9a55-0d7c1e9b2f10/2.0.0"
    world.repo.names.append(world.good_name)
    world.hostile.images[hashlib.sha256(world.good.read_bytes()).hexdigest()] = world.good.read_bytes()
    world.repo.publish()
    yield world
    world.hostile.stop()
    assert world.srv.stop() == 0


def refused(dev, text, what):
    """Waits for the agent's status to carry `text`; checks nothing moved."""
    st = dev.wait(lambda d: (lambda u: u if u and text in u["message"] else None)(d.updates()),
                  what)
    assert "installed into slot" not in dev.log()
    assert "install slot=b" not in dev.events()
    assert (dev.status() or {}).get("os_version") == "1.0.0"
    return st


def run_attack(w, reply, text, what, env=None):
    dev = w.device(w.base)
    w.hostile.reply = lambda body: reply(dev, body)
    dev.start(env=env)
    try:
        st = refused(dev, text, what)
    finally:
        dev.stop()
        w.hostile.reply = None
    log = dev.log()
    assert "Sanitizer" not in log and "runtime error:" not in log, log[-4000:]
    return dev, st


# ---- arbitrary software ----

def test_os_image_signed_by_unknown_key_refused(w, tmp_path):
    stranger = tmp_path / "stranger.pem"
    stranger_pub = tmp_path / "stranger.pub"
    run([binary("rampart"), "keys", "generate", "--out", stranger, "--pub", stranger_pub])
    pkg = w.make_os("2.5.0", 3, key=stranger, tag="-stranger")
    # the online service lists it in a copy of the repository whose targets
    # trust the stranger's key for the listing; targets stay offline-signed
    d = tmp_path / "repo"
    shutil.copytree(w.repo.d, d)
    r = Repo.__new__(Repo)
    r.d, r.md, r.key = d, d / "metadata", {k: d / "keys" / f"{k}.pem" for k in w.repo.key}
    r.add(pkg, stranger_pub)
    r.publish()
    w.hostile.images[hashlib.sha256(pkg.read_bytes()).hexdigest()] = pkg.read_bytes()
    name = "platform/6f0e2a3c-3b1d-4c7e-9a55-0d7c1e9b2f10/2.5.0"
    dev, st = run_attack(w, lambda dev, b: reply_of(r.files(), r.assign(dev.ueid, name)),
                         "is signed only by unknown key id(s)", "the signature refusal")
    assert st["last_result"] == "failed"
    # reported in the next check-in, with the monitor's reason
    sha = hashlib.sha256(pkg.read_bytes()).hexdigest()
    assert any(x["sha256"] == sha and x["status"] == "failed" and "unknown key" in x["reason"]
               for c in w.hostile.checkins for x in c.get("reports", [])) or \
        any(x["sha256"] == sha and x["status"] == "failed" for x in dev.agent()["reports"])
    q = (dev.dir / "data" / "failures" / "queue").read_text()
    assert "update_fail" in q


def test_targets_signed_by_online_key_only_refused(w, tmp_path):
    files = w.repo.files()
    # new targets (version +1) signed by the snapshot key, with snapshot and
    # timestamp over them: everything the online keys can make
    forged = w.repo.resign(files["targets"], "snapshot", lambda p: p.update(version=p["version"] + 1))
    snap = payload(files["snapshot"])
    snap["version"] += 1
    snap["meta"]["targets.json"]["version"] += 1
    snap_env = sign_env(dump(snap), [w.repo.key["snapshot"]])
    ts = payload(files["timestamp"])
    ts["version"] += 1
    ts["meta"]["snapshot.json"] = {"version": snap["version"], "length": len(snap_env),
                                   "hashes": {"sha256": hashlib.sha256(snap_env).hexdigest()}}
    ts_env = sign_env(dump(ts), [w.repo.key["timestamp"]])
    bad = {"timestamp": ts_env, "snapshot": snap_env, "targets": forged}
    run_attack(w, lambda dev, b: reply_of(bad, w.repo.assign(dev.ueid, w.good_name)),
               "targets: 0 valid signature(s)", "the targets refusal")


def test_director_hash_differs_from_targets_refused(w):
    def reply(dev, body):
        dr = w.repo.assign(dev.ueid, w.good_name)
        dr = w.repo.resign(dr, "director",
                           lambda p: p["images"][0]["hashes"].update(sha256="ee" * 32))
        return reply_of(w.repo.files(), dr)
    run_attack(w, reply, "director sha256 eeeeeeee", "the director/targets mismatch")


# ---- rollback ----

def test_image_with_lower_svn_refused(w, tmp_path):
    old = w.make_os("0.9.0", 0, tag="-old")
    d = tmp_path / "repo"
    shutil.copytree(w.repo.d, d)
    r = Repo.__new__(Repo)
    r.d, r.md, r.key = d, d / "metadata", {k: d / "keys" / f"{k}.pem" for k in w.repo.key}
    r.add(old, w.fac.plat_pub)
    r.publish()
    w.hostile.images[hashlib.sha256(old.read_bytes()).hexdigest()] = old.read_bytes()
    name = "platform/6f0e2a3c-3b1d-4c7e-9a55-0d7c1e9b2f10/0.9.0"
    dev, st = run_attack(w, lambda dev, b: reply_of(r.files(), r.assign(dev.ueid, name)),
                         "svn 0 is below the running OS's svn 1 (rollback refused)",
                         "the svn refusal")
    # never downloaded
    assert "downloaded" not in dev.log()


def test_os_image_of_another_component_refused(w, tmp_path):
    other = "99999999-3b1d-4c7e-9a55-0d7c1e9b2f10"
    pkg = w.make_os("7.0.0", 7, tag="-other", component=other)
    d = tmp_path / "repo"
    shutil.copytree(w.repo.d, d)
    r = Repo.__new__(Repo)
    r.d, r.md, r.key = d, d / "metadata", {k: d / "keys" / f"{k}.pem" for k in w.repo.key}
    r.add(pkg, w.fac.plat_pub)
    r.publish()
    w.hostile.images[hashlib.sha256(pkg.read_bytes()).hexdigest()] = pkg.read_bytes()
    name = f"platform/{other}/7.0.0"
    dev, st = run_attack(w, lambda dev, b: reply_of(r.files(), r.assign(dev.ueid, name)),
                         "is not this device's OS", "the component refusal")
    assert "downloaded" not in dev.log()


def test_replayed_older_metadata_refused(w):
    older = w.repo.files()
    w.repo.publish()
    newer = w.repo.files()
    assert payload(newer["timestamp"])["version"] > payload(older["timestamp"])["version"]
    served = []

    def reply(dev, body):
        # the first check-in gets the newer metadata, every later one a replay
        files = newer if not served else older
        served.append(1)
        return reply_of(files, w.repo.empty_director(dev.ueid))

    dev, st = run_attack(w, reply, "older than the trusted version", "the replay refusal")
    assert "timestamp version" in st["message"] and "rollback refused" in st["message"]
    tuf = json.loads((dev.dir / "data" / "updates" / "tuf.json").read_text())
    assert tuf["timestamp"] == payload(newer["timestamp"])["version"]


# ---- freeze ----

@pytest.mark.parametrize("role", ["timestamp", "director"])
def test_expired_metadata_refused_and_reported(w, role):
    def reply(dev, body):
        files = dict(w.repo.files())
        dr = w.repo.assign(dev.ueid, w.good_name)
        past = lambda p: p.update(expires=when(-1), version=p["version"] + 1)
        if role == "timestamp":
            files["timestamp"] = w.repo.resign(files["timestamp"], "timestamp", past)
        else:
            dr = w.repo.resign(dr, "director", past)
        return reply_of(files, dr)
    dev, st = run_attack(w, reply, "expired at", f"the expired {role} refusal")
    assert st["message"].startswith(role) or role in st["message"]
    q = (dev.dir / "data" / "failures" / "queue").read_text()
    assert "metadata_refused" in q and "expired" in q


# ---- mix-and-match ----

def test_targets_from_another_snapshot_refused(w, tmp_path):
    before = w.repo.files()
    extra = w.make_os("2.0.1", 2, tag="-mix")
    w.repo.add(extra, w.fac.plat_pub)
    w.repo.publish()
    after = w.repo.files()
    mixed = {"timestamp": after["timestamp"], "snapshot": after["snapshot"],
             "targets": before["targets"]}
    run_attack(w, lambda dev, b: reply_of(mixed, w.repo.assign(dev.ueid, w.good_name)),
               "does not match the version", "the mix-and-match refusal")


# ---- endless data and slow servers ----

def test_endless_image_aborted_at_the_length_cap(w):
    w.hostile.image_mode = "endless"
    try:
        dev, st = run_attack(w, lambda dev, b: reply_of(w.repo.files(),
                                                        w.repo.assign(dev.ueid, w.good_name)),
                             "more than the", "the length cap")
    finally:
        w.hostile.image_mode = "honest"
    assert "transfer aborted" in st["message"]
    # the partial file holds at most the expected length
    for p in (dev.dir / "data" / "updates").glob("*.part"):
        assert p.stat().st_size <= w.good.stat().st_size


def test_trickling_image_aborted_below_the_minimum_rate(w):
    dev = w.device(w.base)
    assigned = [True]
    w.hostile.image_mode = "trickle"
    w.hostile.reply = lambda body: reply_of(
        w.repo.files(), w.repo.assign(dev.ueid, w.good_name) if assigned[0]
        else w.repo.empty_director(dev.ueid))
    dev.start(env={"RAMPARTD_UPDATE_MIN_RATE": "100000", "RAMPARTD_UPDATE_LOW_SPEED_S": "2"})
    try:
        st = refused(dev, "bytes/s", "the minimum-rate abort")
        assert st["last_result"] == "interrupted" and "transfer aborted" in st["message"]
        # the partial download waits for a resume ...
        parts = lambda: list((dev.dir / "data" / "updates").glob("*.pkg.part"))
        assert parts()
        # ... until the assignment no longer names the image
        assigned[0] = False
        wait_for(lambda: not parts(), "the partial download to be removed", log=dev.log)
        assert "no longer assigned" in dev.log()
    finally:
        dev.stop()
        w.hostile.reply = None
        w.hostile.image_mode = "honest"
    log = dev.log()
    assert "Sanitizer" not in log and "runtime error:" not in log, log[-4000:]


# ---- root rotation ----

def test_device_walks_two_root_versions_and_refuses_a_forged_one(w, tmp_path):
    d = tmp_path / "repo"
    shutil.copytree(w.repo.d, d)
    for _ in range(2):
        run([binary("rampart"), "repo", "rotate-root", "--dir", d, "--new-keys", "3"])
    r2, r3 = (d / "metadata" / "2.root.json").read_bytes(), (d / "metadata" / "3.root.json").read_bytes()
    assert payload(r3)["version"] == 3
    # a root 2 signed by fresh keys only (not the old threshold)
    other = tmp_path / "other"
    run([binary("rampart"), "repo", "init", "--dir", other])
    p = payload(r2)
    forged = sign_env(dump(p), sorted((other / "keys").glob("root-*.pem")))
    rounds = []

    def reply(dev, body):
        rounds.append(body["root_version"])
        # like the real service: the roots after the one the device names
        roots = [forged] if len(rounds) == 1 else \
            [r for r in (r2, r3) if payload(r)["version"] > body["root_version"]]
        return reply_of(w.repo.files(), w.repo.empty_director(dev.ueid), roots)

    dev = w.device(w.base)
    w.hostile.reply = lambda body: reply(dev, body)
    dev.start()
    try:
        dev.wait(lambda d: (d.updates() or {}).get("versions", {}).get("root") == 3,
                 "the device to trust root 3")
        assert rounds[0] == 1 and 1 in rounds[:2]
        assert "metadata refused" in dev.log()
        # later check-ins announce root 3
        wait_for(lambda: rounds[-1] == 3, "a check-in naming root 3", log=dev.log)
    finally:
        dev.stop()
        w.hostile.reply = None


# ---- broken release ----

def test_os_whose_measurement_is_not_released_is_reverted(w, tmp_path):
    """Signed and listed, so it installs; but the service has no release for
    its measurement, so the trial never attests: it reboots until its
    attempts are gone, rampart-boot reverts, and the old OS reports it."""
    pkg = w.make_os("3.0.0", 3, tag="-unreleased", released=False)
    d = tmp_path / "repo"
    shutil.copytree(w.repo.d, d)
    r = Repo.__new__(Repo)
    r.d, r.md, r.key = d, d / "metadata", {k: d / "keys" / f"{k}.pem" for k in w.repo.key}
    r.add(pkg, w.fac.plat_pub)
    r.publish()
    digest = hashlib.sha256(pkg.read_bytes()).hexdigest()
    w.hostile.images[digest] = pkg.read_bytes()
    name = "platform/6f0e2a3c-3b1d-4c7e-9a55-0d7c1e9b2f10/3.0.0"
    dev = w.device(w.base)
    w.hostile.checkins.clear()
    w.hostile.reply = lambda body: reply_of(r.files(), r.assign(dev.ueid, name))
    dev.start()
    try:
        reverted = lambda: [x for c in w.hostile.checkins for x in c.get("reports", [])
                            if x["sha256"] == digest and x["status"] == "reverted"]
        rep = wait_for(reverted, "a reverted report", log=dev.log)[0]
        assert "OS 3.0.0 failed to attest: reason=os_not_released" in rep["reason"], rep
        log, ev = dev.log(), dev.events()
        assert "installed into slot b as a trial with 2 boot attempts" in log
        assert log.count("the trial OS cannot attest") == 2
        assert "revert slot=b reason=trial was not confirmed" in ev
        assert "confirm slot=b" not in ev
        dev.wait(lambda d: (d.status() or {}).get("state") == "attested" and
                 d.status()["os_version"] == "1.0.0", "the old OS attested")
        assert dev.floor() <= 1
        q = (dev.dir / "data" / "failures" / "queue").read_text()
        assert '"revert"' in q and "os_not_released" in q
        # never installed again
        n = len(w.hostile.checkins)
        wait_for(lambda: len(w.hostile.checkins) >= n + 2, "two more check-ins", log=dev.log)
        assert dev.log().count("installed into slot b") == 1
    finally:
        dev.stop()
        w.hostile.reply = None
    log = dev.log()
    assert "Sanitizer" not in log and "runtime error:" not in log, log[-4000:]

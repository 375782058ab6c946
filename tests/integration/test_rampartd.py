"""rampartd end to end: a real rampart-server, a manufacturer, a provisioned
and claimed device whose OS image (made by `rampart-device make-os`) holds
rampartd, booted by `rampart-device run` (rampart-boot verifies and measures
the slot, the loader runs rampartd from it). The device attests, gets its
platform and app certificates (checked with stock openssl against the
tenant's cacerts), renews at 80 % of the lifetime over mTLS with a key that
never leaves the monitor, re-attests after an OS change, and on refusal
logs the reason code, backs off and queues attest_fail. Attacks: an impostor
server, an unreleased OS, a slot swapped after it was measured."""
import base64
import datetime
import http.server
import ipaddress
import json
import os
import pathlib
import re
import signal
import ssl
import subprocess
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import binary, run
from entity_fixture import Factory, add_manufacturer, import_records, make_product, group_named
from server_fixture import *  # noqa: F401,F403  (fixtures: server, make_server)

WAIT = 60


def wait_for(pred, what, timeout=WAIT, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}\n" + (log() if log else ""))


@pytest.fixture(scope="module")
def osimg(tmp_path_factory):
    """A factory (manufacturer CA, platform key) and two signed OS images."""
    d = tmp_path_factory.mktemp("osimg")
    fac = Factory(d / "factory")
    imgs = {}
    for ver, svn in (("1.0.0", 1), ("2.0.0", 2)):
        out = d / f"os-{ver}.pkg"
        p = run([binary("rampart-device"), "make-os", "--out", out, "--version", ver, "--svn", svn,
                 "--key", fac.dir / "platform.key"])
        m = re.search(r"image digest \(fwid\): ([0-9a-f]{64})", p.stdout)
        assert m, p.stdout
        imgs[ver] = {"pkg": out, "fwid": m.group(1), "svn": svn}
    return {"fac": fac, "imgs": imgs, "dir": d}


class Device:
    """One emulated device directory and its `rampart-device run` process."""

    def __init__(self, path, log_path):
        self.dir = pathlib.Path(path)
        self.log_path = pathlib.Path(log_path)
        self.proc = None

    def start(self, *args, env=None, extra=()):
        assert self.proc is None
        e = dict(os.environ)
        e.pop("RP_FAULT", None)
        e.update(env or {})
        self._log = open(self.log_path, "a")
        cmd = [binary("rampart-device"), "run", self.dir, *args]
        if extra:
            cmd += ["--", *extra]
        self.proc = subprocess.Popen([str(c) for c in cmd], stdout=self._log, stderr=self._log, env=e)
        return self

    def stop(self):
        """SIGTERM to rampart-boot: rampartd (PDEATHSIG) writes its status and exits."""
        if not self.proc:
            return
        p, self.proc = self.proc, None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
        self._log.close()
        wait_for(lambda: self.status() and not self.status()["running"], "rampartd to stop",
                 log=self.log)

    def log(self):
        try:
            return self.log_path.read_text()
        except OSError:
            return ""

    def status(self):
        f = self.dir / "data" / "status.json"
        try:
            return json.loads(f.read_text())
        except (OSError, ValueError):
            return None

    def wait_status(self, pred, what, timeout=WAIT):
        return wait_for(lambda: (lambda s: s if s and pred(s) else None)(self.status()), what,
                        timeout, log=self.log)

    def cert(self, purpose):
        return x509.load_pem_x509_certificate((self.dir / "data" / "certs" / f"{purpose}.pem").read_bytes())


@pytest.fixture
def world(server, osimg, tmp_path):
    """Tenant, product, a claimed device with OS 1.0.0 in slot a, released, configured."""
    fac = osimg["fac"]
    tenant, admin = server.create_tenant("t-" + os.urandom(3).hex())
    add_manufacturer(server, fac)
    rec = fac.provision(1)[0]
    r = import_records(server, [rec])
    assert r.status_code == 200, r.text
    prod = make_product(server, admin)
    r = server.api("POST", "/api/v1/devices", admin,
                   json={"ueid": rec["ueid"], "group": group_named(prod, "Development")})
    assert r.status_code == 201, r.text
    dev = fac.dir / f"dev{fac.n}"
    run([binary("rampart-device"), "install-os", dev, "--slot", "a", osimg["imgs"]["1.0.0"]["pkg"]])
    run([binary("rampart-device"), "configure", dev, "--server", server.url, "--tenant", tenant,
         "--server-ca", server.data_dir / "server.crt"])
    w = {"server": server, "tenant": tenant, "admin": admin, "ueid": rec["ueid"],
         "dev": Device(dev, tmp_path / "device.log"), "imgs": osimg["imgs"], "tmp": tmp_path,
         "fac": fac}
    yield w
    w["dev"].stop()
    # sanitizer builds: a report from rampartd or the loader fails the test
    log = w["dev"].log()
    assert "Sanitizer" not in log and "runtime error:" not in log, log[-4000:]


def release(w, ver):
    img = w["imgs"][ver]
    r = w["server"].api("POST", "/api/v1/os-releases", w["server"].bootstrap_token,
                        json={"name": "rampart-os", "version": ver, "svn": img["svn"], "sha256": img["fwid"]})
    assert r.status_code in (201, 409), r.text


def device_record(w):
    r = w["server"].api("GET", f"/api/v1/devices/{w['ueid']}", w["admin"])
    assert r.status_code == 200, r.text
    return r.json()


def cli_show(w):
    env = dict(os.environ, XDG_CONFIG_HOME=str(w["tmp"] / "xdg"))
    env.pop("RAMPART_CONFIG", None)
    srv = w["server"]
    run([binary("rampart"), "login", "--server", srv.url, "--token", "-", "--fingerprint", srv.pin],
        input=w["admin"] + "\n", env=env)
    table = run([binary("rampart"), "device", "show", w["ueid"]], env=env).stdout
    js = json.loads(run([binary("rampart"), "device", "show", w["ueid"], "-o", "json"], env=env).stdout)
    return table, js


def cacerts(w, path):
    r = w["server"].api("GET", f"/.well-known/est/{w['tenant']}/cacerts",
                        headers={"Accept": "application/x-pem-file"})
    assert r.status_code == 200, r.text
    path.write_text(r.text)
    return path


def failq_events(dev):
    raw = (dev.dir / "data" / "failures" / "queue").read_text()
    header, body = raw.split("\n", 1)
    assert header.startswith("rampart-failq 1 ")
    return [e["event"] for e in json.loads(body)["events"]]


# ---- the whole flow ----

def test_device_attests_end_to_end(world, tmp_path):
    w, dev = world, world["dev"]
    release(w, "1.0.0")
    dev.start()
    st = dev.wait_status(lambda s: s["state"] == "attested", "attestation")
    assert st["reason"] == "ok" and st["ueid"] == w["ueid"]
    assert st["os_version"] == "1.0.0" and st["fwid"] == w["imgs"]["1.0.0"]["fwid"]
    assert set(st["certificates"]) == {"platform", "app"}
    assert "attestation (platform certificate, simpleenroll) ok: reason=ok" in dev.log()

    # both certificates chain to the tenant CA (stock openssl), name the device and tenant
    ca = cacerts(w, tmp_path / "cacerts.pem")
    for purpose in ("platform", "app"):
        pem = dev.dir / "data" / "certs" / f"{purpose}.pem"
        p = run(["openssl", "verify", "-CAfile", ca, "-purpose", "sslclient", pem])
        assert p.stdout.strip().endswith("OK")
        c = dev.cert(purpose)
        attrs = {a.oid._name: a.value for a in c.subject}
        assert attrs["commonName"] == w["ueid"] and attrs["organizationName"] == w["tenant"]
        san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.UniformResourceIdentifier) == [f"urn:ueid:{w['ueid']}"]
        # the status file reports this certificate's expiry
        assert st["certificates"][purpose]["not_after"] == c.not_valid_after.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert dev.cert("platform").serial_number != dev.cert("app").serial_number
    # the service recorded each certificate with its purpose
    r = w["server"].api("GET", f"/api/v1/devices/{w['ueid']}/certificates", w["admin"])
    assert r.status_code == 200, r.text
    recorded = {int(i["serial"], 16): i["purpose"] for i in r.json()["items"]}
    for purpose in ("platform", "app"):
        assert recorded[dev.cert(purpose).serial_number] == purpose
    # the keys stay in the monitor: nothing private in the normal world's files
    for f in (dev.dir / "data").rglob("*"):
        if f.is_file():
            assert b"PRIVATE KEY" not in f.read_bytes(), f

    # the service's record and the operator CLI show it attested
    rec = device_record(w)
    assert rec["last_reason_code"] == "ok" and rec["os_version"] == "1.0.0"
    assert rec["cert_expires_at"] is not None
    # the record's expiry is the platform certificate's notAfter
    assert rec["cert_expires_at"][:19] == dev.cert("platform").not_valid_after.strftime("%Y-%m-%dT%H:%M:%S")
    table, js = cli_show(w)
    assert js["last_reason_code"] == "ok" and js["cert_expires_at"] == rec["cert_expires_at"]
    assert re.search(r"last reason code\s+ok", table) and "certificate expires" in table

    # `rampart-device status` prints the same state for a person
    out = run([binary("rampart-device"), "status", dev.dir]).stdout
    assert "state: attested" in out and "reason: ok" in out and "not_after:" in out

    dev.stop()
    st = dev.status()
    assert st["running"] is False and st["state"] == "attested"
    assert "rampartd: signal 15: shutting down" in dev.log()


def test_renewal_at_80_percent_over_mtls(world):
    w, dev = world, world["dev"]
    release(w, "1.0.0")
    # 26 h certificates: the renewal point is ~21 h away; the scale knob
    # shortens the wait (not the point, which is logged unscaled).
    dev.start(env={"RAMPARTD_RENEW_SCALE": "40000"})
    dev.wait_status(lambda s: s["state"] == "attested", "first attestation")
    first = {p: dev.cert(p) for p in ("platform", "app")}
    st = dev.wait_status(lambda s: s["renewals"] >= 1 and s["state"] == "attested", "a renewal")
    dev.stop()
    log = dev.log()
    assert "attestation (platform certificate, simplereenroll) ok" in log
    assert "attestation (app certificate, simplereenroll) ok" in log
    assert "(trigger: renewal)" in log
    # the logged renewal point is 80 % of the first certificate's lifetime
    c = first["platform"]
    nb, na = c.not_valid_before.timestamp(), c.not_valid_after.timestamp()
    due = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(nb + 0.8 * (na - nb))))
    assert f"renewal due at {due} (80% of the certificate's lifetime)" in log
    for p in ("platform", "app"):
        assert dev.cert(p).serial_number != first[p].serial_number
    # the renewal is an attestation too: the service recorded it
    audit = w["server"].api("GET", "/api/v1/audit", w["admin"]).json()["items"]
    assert any(a["action"] == "est.simplereenroll" and a["status"] == 200 for a in audit)
    assert st["consecutive_failures"] == 0


def test_many_renewals_do_not_exhaust_monitor_keys(world):
    """Each renewal makes two keys in the monitor (8 slots); the old ones are
    destroyed once the new certificates are stored."""
    w, dev = world, world["dev"]
    release(w, "1.0.0")
    dev.start(env={"RAMPARTD_RENEW_SCALE": "1000000", "RAMPARTD_BACKOFF_MIN_MS": "20"})
    st = dev.wait_status(lambda s: s["renewals"] >= 6, "six renewals")
    log = dev.log()         # before the power-off, which may cut an attempt short
    dev.stop()
    assert st["consecutive_failures"] == 0 and st["attempts"] == st["renewals"] + 1
    assert "refused" not in log
    handles = json.loads((dev.dir / "data" / "certs" / "platform.json").read_text())["handle"]
    assert handles > 8      # more keys were made than the monitor can hold at once


def test_os_change_leads_to_reattestation(world):
    w, dev = world, world["dev"]
    release(w, "1.0.0")
    dev.start()
    dev.wait_status(lambda s: s["state"] == "attested", "attestation of 1.0.0")
    dev.stop()
    # install 2.0.0 in the other slot and reboot
    release(w, "2.0.0")
    run([binary("rampart-device"), "install-os", dev.dir, "--slot", "b", w["imgs"]["2.0.0"]["pkg"]])
    dev.start()
    st = dev.wait_status(lambda s: s["state"] == "attested" and s["bootcount"] == 2,
                         "attestation of 2.0.0")
    assert st["fwid"] == w["imgs"]["2.0.0"]["fwid"] and st["os_version"] == "2.0.0"
    assert st["trigger"] == "renewal"       # next step after the os-change attestation
    log = dev.log()
    old, new = w["imgs"]["1.0.0"]["fwid"], w["imgs"]["2.0.0"]["fwid"]
    assert f"OS changed since the last attestation (fwid {old} -> {new})" in log
    assert "(trigger: os-change)" in log
    certs = json.loads((dev.dir / "data" / "certs" / "platform.json").read_text())
    assert certs["fwid"] == new
    assert device_record(w)["os_version"] == "2.0.0"


def test_blocked_device_backs_off_and_queues_attest_fail(world):
    w, dev = world, world["dev"]
    release(w, "1.0.0")
    r = w["server"].api("POST", f"/api/v1/devices/{w['ueid']}/block", w["admin"], json={"reason": "stolen"})
    assert r.status_code == 200, r.text
    lo, hi = 40, 320
    dev.start(env={"RAMPARTD_BACKOFF_MIN_MS": str(lo), "RAMPARTD_BACKOFF_MAX_MS": str(hi)})
    st = dev.wait_status(lambda s: s["attempts"] >= 6, "six attempts")
    assert st["state"] == "failed" and st["reason"] == "device_blocked"
    dev.stop()
    log = dev.log()
    fails = re.findall(r"attestation attempt (\d+) failed \((\d+) in a row\): reason=(\S+); "
                       r"next attempt in (\d+) ms", log)
    assert len(fails) >= 6
    for attempt, streak, reason, ms in fails:
        n, ms = int(streak), int(ms)
        assert reason == "device_blocked"
        full = min(hi, lo * 2 ** (n - 1))          # exponential, capped
        assert full // 2 <= ms <= full, (n, ms)     # equal jitter: half fixed, half random
    assert "refused: reason=device_blocked" in log
    # one coalesced attest_fail event, counted once per failed attempt
    evs = [e for e in failq_events(dev) if e["class"] == "attest_fail"]
    assert len(evs) == 1 and evs[0]["reason"] == "device_blocked"
    assert evs[0]["count"] == len(fails) and evs[0]["component_id"] == "rampart-os"
    assert evs[0]["component_version"] == "1.0.0"
    assert not (dev.dir / "data" / "certs" / "platform.pem").exists()
    rec = device_record(w)
    assert rec["last_reason_code"] == "device_blocked"
    table, js = cli_show(w)
    assert js["last_reason_code"] == "device_blocked"
    assert re.search(r"last reason code\s+device_blocked", table)

    # unblocked: the next attempt succeeds
    r = w["server"].api("POST", f"/api/v1/devices/{w['ueid']}/unblock", w["admin"])
    assert r.status_code == 200, r.text
    dev.start(env={"RAMPARTD_BACKOFF_MIN_MS": str(lo), "RAMPARTD_BACKOFF_MAX_MS": str(hi)})
    dev.wait_status(lambda s: s["state"] == "attested", "attestation after unblock")
    assert device_record(w)["last_reason_code"] == "ok"


def test_server_ca_from_os_image_and_run_arguments(world, tmp_path):
    """No CA in the configuration: rampartd uses the one its OS image ships;
    `run --server --tenant` writes the configuration itself."""
    w, dev = world, world["dev"]
    for f in ("config.json", "server-ca.pem"):
        (dev.dir / "data" / f).unlink()
    pkg = tmp_path / "os-3.pkg"
    p = run([binary("rampart-device"), "make-os", "--out", pkg, "--version", "3.0.0", "--svn", 3,
             "--key", w["fac"].dir / "platform.key", "--server-ca", w["server"].data_dir / "server.crt"])
    fwid = re.search(r"image digest \(fwid\): ([0-9a-f]{64})", p.stdout).group(1)
    r = w["server"].api("POST", "/api/v1/os-releases", w["server"].bootstrap_token,
                        json={"name": "rampart-os", "version": "3.0.0", "svn": 3, "sha256": fwid})
    assert r.status_code == 201, r.text
    run([binary("rampart-device"), "install-os", dev.dir, "--slot", "b", pkg])
    dev.start("--server", w["server"].url, "--tenant", w["tenant"])
    st = dev.wait_status(lambda s: s["state"] == "attested", "attestation")
    assert st["fwid"] == fwid and st["os_version"] == "3.0.0"
    cfg = json.loads((dev.dir / "data" / "config.json").read_text())
    assert cfg == {"server": w["server"].url, "tenant": w["tenant"]}
    assert f"server CA {dev.dir}/os/bin/../etc/rampart/server-ca.pem" in dev.log()


# ---- attacks ----

def test_unreleased_os_is_refused(world):
    w, dev = world, world["dev"]
    # 1.0.0 is never registered as a release
    dev.start(env={"RAMPARTD_BACKOFF_MIN_MS": "50", "RAMPARTD_BACKOFF_MAX_MS": "100"})
    st = dev.wait_status(lambda s: s["attempts"] >= 2, "refusals")
    assert st["reason"] == "os_not_released" and st["state"] == "failed"
    dev.stop()
    assert device_record(w)["last_reason_code"] == "os_not_released"
    assert not (dev.dir / "data" / "certs" / "platform.pem").exists()


def test_unreachable_server_backs_off(world):
    w, dev = world, world["dev"]
    run([binary("rampart-device"), "configure", dev.dir, "--server", "https://127.0.0.1:1"])
    # rampartd options pass through `run ... --`
    dev.start(extra=("--backoff-min-ms", "20", "--backoff-max-ms", "40"))
    st = dev.wait_status(lambda s: s["attempts"] >= 3, "three attempts")
    dev.stop()
    delays = [int(x) for x in re.findall(r"next attempt in (\d+) ms", dev.log())]
    assert len(delays) >= 3 and all(10 <= x <= 40 for x in delays), delays
    assert st["reason"] == "unreachable" and st["state"] == "failed"
    assert "127.0.0.1:1" in st["message"]
    assert [e["reason"] for e in failq_events(dev) if e["class"] == "attest_fail"] == ["unreachable"]


def test_impostor_server_is_refused(world, make_server):
    w, dev = world, world["dev"]
    release(w, "1.0.0")
    # a second server (its own self-signed certificate) pretends to be the service
    impostor = make_server()
    t2, _ = impostor.create_tenant("impostor")
    run([binary("rampart-device"), "configure", dev.dir, "--server", impostor.url])
    dev.start(env={"RAMPARTD_BACKOFF_MIN_MS": "50", "RAMPARTD_BACKOFF_MAX_MS": "100"})
    st = dev.wait_status(lambda s: s["attempts"] >= 2, "refusals")
    dev.stop()
    assert st["reason"] == "tls_auth" and st["state"] == "failed"
    assert "certificate" in st["message"].lower()
    assert not (dev.dir / "data" / "certs" / "platform.pem").exists()
    # nothing reached the impostor's attestation endpoint
    r = impostor.api("GET", "/api/v1/audit", impostor.bootstrap_token)
    assert not any(a["action"].startswith("est.") for a in r.json()["items"])
    evs = [e for e in failq_events(dev) if e["class"] == "attest_fail"]
    assert [e["reason"] for e in evs] == ["tls_auth"]


def _self_signed(cn, key, ip=None, days=1):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days)))
    if ip:
        b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), False)
    return b.sign(key, hashes.SHA256())


class Hostile:
    """An HTTPS server with a certificate the device trusts (a compromised or
    misbehaving service) that answers the EST routes wrongly on purpose."""

    def __init__(self, tmp, mode, ueid):
        self.mode, self.ueid, self.enrolls, self.reenrolls = mode, ueid, 0, 0
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _self_signed("hostile", key, ip="127.0.0.1")
        self.ca = tmp / "hostile.pem"
        self.ca.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        kf = tmp / "hostile.key"
        kf.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.ca, kf)
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def reply(self, status, body, ctype="application/json"):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path.endswith("/nonce"):
                    nonce = os.urandom(4 if outer.mode == "short_nonce" else 32)
                    txt = "!!!" if outer.mode == "garbled_nonce" else \
                        base64.urlsafe_b64encode(nonce).decode().rstrip("=")
                    return self.reply(200, json.dumps({"nonce": txt, "expires": "2099-01-01T00:00:00Z"}).encode())
                outer.enrolls += 1
                if self.path.endswith("/simplereenroll"):
                    outer.reenrolls += 1
                    if outer.mode == "reenroll_refused":
                        return self.reply(403, json.dumps({"error": {
                            "code": "reenroll_cert_mismatch", "message": "not ours"}}).encode())
                if outer.mode == "html_refusal":
                    return self.reply(403, b"<html>forbidden</html>", "text/html")
                if outer.mode == "huge":
                    return self.reply(200, b"A" * (300 * 1024), "application/x-pem-file")
                csr = x509.load_der_x509_csr(base64.b64decode(json.loads(body)["csr"]))
                issuer = ec.generate_private_key(ec.SECP256R1())
                now = datetime.datetime.now(datetime.timezone.utc)
                subject_key = csr.public_key() if outer.mode in ("wrong_cn", "reenroll_refused") else \
                    ec.generate_private_key(ec.SECP256R1()).public_key()
                cn = "0" * 40 if outer.mode == "wrong_cn" else outer.ueid
                c = (x509.CertificateBuilder()
                     .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
                     .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "evil CA")]))
                     .public_key(subject_key).serial_number(x509.random_serial_number())
                     .not_valid_before(now).not_valid_after(now + datetime.timedelta(hours=26))
                     .sign(issuer, hashes.SHA256()))
                self.reply(200, c.public_bytes(serialization.Encoding.PEM), "application/x-pem-file")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("mode,needle", [
    ("short_nonce", "nonce: 4 bytes"),
    ("garbled_nonce", "no base64url nonce"),
    ("other_key", "does not certify the key of the CSR"),
    ("wrong_cn", "not this device"),
    ("html_refusal", "HTTP 403 without a reason code"),
    ("huge", "response over"),
])
def test_hostile_server_answers_are_not_stored(world, tmp_path, mode, needle):
    w, dev = world, world["dev"]
    h = Hostile(tmp_path, mode, w["ueid"])
    try:
        run([binary("rampart-device"), "configure", dev.dir, "--server", h.url, "--server-ca", h.ca])
        dev.start(env={"RAMPARTD_BACKOFF_MIN_MS": "20", "RAMPARTD_BACKOFF_MAX_MS": "40"})
        st = dev.wait_status(lambda s: s["attempts"] >= 2, "two attempts")
        dev.stop()
    finally:
        h.close()
    assert st["state"] == "failed" and st["reason"] == "bad_response", st
    assert needle in st["message"], st["message"]
    assert not (dev.dir / "data" / "certs").exists()
    assert [e["reason"] for e in failq_events(dev) if e["class"] == "attest_fail"] == ["bad_response"]
    if mode in ("short_nonce", "garbled_nonce"):
        assert h.enrolls == 0       # no evidence was sent for a bad nonce


def test_refused_reenroll_falls_back_to_simpleenroll(world, tmp_path):
    """A service that no longer takes the device's certificate for
    simplereenroll (say, after its CA was replaced) still gets the device
    back: rampartd enrolls afresh in the same attempt."""
    w, dev = world, world["dev"]
    h = Hostile(tmp_path, "reenroll_refused", w["ueid"])
    try:
        run([binary("rampart-device"), "configure", dev.dir, "--server", h.url, "--server-ca", h.ca])
        dev.start(env={"RAMPARTD_RENEW_SCALE": "1000000", "RAMPARTD_BACKOFF_MIN_MS": "20"})
        st = dev.wait_status(lambda s: s["renewals"] >= 2, "two renewals")
        log = dev.log()
        dev.stop()
    finally:
        h.close()
    assert st["state"] == "attested" and st["consecutive_failures"] == 0
    assert h.reenrolls >= 4     # two renewals, two certificates each
    # 2 + 2 x 2 x 2 = 10 monitor keys were made (8 slots): the refused
    # attempt's key and the replaced one were both destroyed
    assert "simplereenroll of the platform certificate refused (reenroll_cert_mismatch): " \
           "falling back to simpleenroll" in log
    assert "attestation (app certificate, simpleenroll) ok" in log


def test_slot_swapped_after_measurement_is_not_run(world, tmp_path):
    """The normal world replaces the booted slot's package with another validly
    signed OS after the boot measured it: the loader refuses to run it."""
    w, dev = world, world["dev"]
    swap = tmp_path / "swap.sh"
    swap.write_text(f"#!/bin/sh\ncp '{w['imgs']['2.0.0']['pkg']}' '{dev.dir}/slots/a.pkg'\n"
                    f"exec '{binary('rampart-device')}' os-start '{dev.dir}'\n")
    swap.chmod(0o755)
    p = run([binary("rampart-boot"), dev.dir, "--", swap], check=False)
    assert p.returncode == 70, p.stderr
    assert "refusing to run what was not measured" in p.stderr
    assert w["imgs"]["1.0.0"]["fwid"] in p.stderr and w["imgs"]["2.0.0"]["fwid"] in p.stderr
    assert not (dev.dir / "os").exists()
    assert dev.status() is None


def test_configure_refusals_change_nothing(world, tmp_path):
    dev = world["dev"]
    cfg = dev.dir / "data" / "config.json"
    before = cfg.read_bytes()
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    cases = [
        (["--server", "http://127.0.0.1:1"], "does not start with https://"),
        (["--server", "https://127.0.0.1:1/api"], "must not have a path"),
        (["--tenant", "ten_XYZ"], "'ten_XYZ'"),
        (["--server-ca", junk], "server CA"),
        (["--server-ca", tmp_path / "missing.pem"], "missing.pem"),
    ]
    for args, needle in cases:
        p = run([binary("rampart-device"), "configure", dev.dir, *args], check=False)
        assert p.returncode == 1 and needle in p.stderr, (args, p.stderr)
        assert cfg.read_bytes() == before
    p = run([binary("rampart-device"), "configure", tmp_path / "nodev", "--server", "https://x",
             "--tenant", world["tenant"]], check=False)
    assert p.returncode == 1 and "does not exist" in p.stderr
    for args in ([], ["--max-boots", "0", dev.dir], [dev.dir, "stray"], [dev.dir, "--bogus"]):
        p = run([binary("rampart-device"), "run", *args], check=False)
        assert p.returncode == 2, (args, p.stderr)
    p = run([binary("rampart-device"), "status", tmp_path], check=False)
    assert p.returncode == 1 and "no rampartd status" in p.stderr


def test_rampartd_needs_configuration_and_monitor(tmp_path):
    rtd = binary("rampartd")
    e = dict(os.environ)
    e.pop("RAMPART_MONITOR_FD", None)
    p = run([rtd, "--data", tmp_path], check=False, env=e)
    assert p.returncode == 78 and "rampart-device configure" in p.stderr
    p = run([rtd, "--data", tmp_path, "--server", "https://127.0.0.1:1", "--tenant",
             "ten_" + "0" * 32, "--server-ca", tmp_path / "none.pem"], check=False, env=e)
    assert p.returncode == 78 and "none.pem" in p.stderr
    (tmp_path / "ca.pem").write_text("x")
    p = run([rtd, "--data", tmp_path, "--server", "https://127.0.0.1:1", "--tenant",
             "ten_" + "0" * 32, "--server-ca", tmp_path / "ca.pem"], check=False, env=e)
    assert p.returncode == 1 and "RAMPART_MONITOR_FD is not set" in p.stderr
    for bad in (["--backoff-min-ms", "0"], ["--renew-scale", "0.5"], ["--backoff-min-ms", "10",
                "--backoff-max-ms", "5"], ["stray"]):
        p = run([rtd, "--data", tmp_path, *bad], check=False, env=e)
        assert p.returncode == 2, (bad, p.stderr)
    assert not (tmp_path / "status.json").exists()

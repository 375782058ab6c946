"""Attestation end to end against a real rampart-server: emulated devices
(real DICE derivation and monitor handlers through rampart-attest-forge, and
a real rampart-boot for the honest path), the EST routes, the issued
certificate checked with the `cryptography` package, and one matrix of
attacks, each asserting its reason code, that nothing was issued, and that
the refusal is counted in /metrics and written to the audit log."""
import base64
import datetime
import hashlib
import json
import os
import re
import subprocess
import time

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import binary, run
from entity_fixture import Factory, add_manufacturer, group_named, import_records, make_product
from server_fixture import Server, make_server  # noqa: F401 (fixture)

OS = {"1.0.0": 1, "2.0.0": 2, "3.0.0": 3}


def fwid(name, version):
    return hashlib.sha256(f"{name}-{version}".encode()).hexdigest()


class World:
    def __init__(self, srv, tmp):
        self.srv = srv
        self.tmp = tmp
        self.f = Factory(tmp / "factory")
        add_manufacturer(srv, self.f)
        self.tenants = {}
        for t in ("A", "B", "C"):
            tid, admin = srv.create_tenant(f"att-{t}-{os.urandom(3).hex()}")
            self.tenants[t] = {"id": tid, "admin": admin, "product": make_product(srv, admin)}
        for v, svn in OS.items():
            r = srv.api("POST", "/api/v1/os-releases", srv.bootstrap_token,
                        json={"name": "rampart-os", "version": v, "svn": svn,
                              "sha256": fwid("rampart-os", v)})
            assert r.status_code in (201, 409), r.text
        self.k = 0

    def device(self, tenant="A", group="Development", debug=False, register=True, claim=True,
               mfg="mfg"):
        rec = self.f.provision(1, mfg=mfg, debug=debug)[0]
        d = self.f.dir / f"dev{self.f.n}"
        if register:
            r = import_records(self.srv, [rec])
            assert r.status_code == 200, r.text
        if claim:
            t = self.tenants[tenant]
            r = self.srv.api("POST", "/api/v1/devices", t["admin"], json={
                "ueid": rec["ueid"], "group": group_named(t["product"], group)})
            assert r.status_code == 201, r.text
        return {"dir": d, "ueid": rec["ueid"]}

    def nonce(self, tenant="A"):
        r = self.srv.api("POST", f"/.well-known/est/{self.tenants[tenant]['id']}/nonce")
        assert r.status_code == 200, r.text
        j = r.json()
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", j["nonce"]) and j["expires"].endswith("Z")
        return j["nonce"]

    def body(self, dev, nonce, *forge, version="1.0.0", purpose="platform", key_out=None):
        self.k += 1
        out = self.tmp / f"body{self.k}.json"
        args = [binary("rampart-attest-forge"), "--dir", dev["dir"], "--nonce", nonce,
                "--os-version", version, "--svn", str(OS.get(version, 1)), "--out", out,
                "--purpose", purpose, *forge]
        if key_out:
            args += ["--key-out", key_out]
        run(args)
        return out.read_text()

    def post(self, tenant, body, reenroll=False, accept=None, cert=None):
        h = {"Content-Type": "application/json"}
        if accept:
            h["Accept"] = accept
        path = f"/.well-known/est/{self.tenants[tenant]['id']}/" + (
            "simplereenroll" if reenroll else "simpleenroll")
        if cert:
            # a fresh connection: the client certificate is sent in its handshake
            return requests.post(self.srv.url + path, data=body, headers=h, verify=False,
                                 cert=cert, timeout=30)
        return self.srv.session.post(self.srv.url + path, data=body, headers=h, verify=False,
                                     timeout=30)

    def enroll(self, dev, tenant="A", *forge, nonce_tenant=None, **kw):
        nonce = self.nonce(nonce_tenant or tenant)
        return self.post(tenant, self.body(dev, nonce, *forge, **kw))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("attest")
    srv = Server(d / "data", ["--rate-limit", "0"]).start()
    yield World(srv, d)
    assert srv.stop() == 0


def p7_certs(r):
    assert r.headers["Content-Type"].startswith("application/pkcs7-mime")
    assert "certs-only" in r.headers["Content-Type"]
    return pkcs7.load_der_pkcs7_certificates(base64.b64decode(r.content))


def cacerts(world, tenant="A"):
    r = world.srv.api("GET", f"/.well-known/est/{world.tenants[tenant]['id']}/cacerts",
                      headers={"Accept": "application/x-pem-file"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/x-pem-file"
    return load_pems(r.content)


def load_pems(data):
    parts = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n?", data, re.S)
    return [x509.load_pem_x509_certificate(p) for p in parts]


def reason(r):
    return r.json()["error"]["code"]


# ---- the honest path ----

def test_enroll_issues_a_verifiable_device_certificate(world):
    dev = world.device()
    r = world.enroll(dev)
    assert r.status_code == 200, r.text
    (cert,) = p7_certs(r)
    t = world.tenants["A"]
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == dev["ueid"]
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == t["id"]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [f"urn:ueid:{dev['ueid']}"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"
    life = cert.not_valid_after - cert.not_valid_before
    assert datetime.timedelta(hours=25) < life < datetime.timedelta(hours=27)
    # signed by the tenant's current CA, which cacerts serves
    ca = cacerts(world)[0]
    ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                           ec.ECDSA(cert.signature_hash_algorithm))
    # the device record shows the attestation
    d = world.srv.api("GET", f"/api/v1/devices/{dev['ueid']}", t["admin"]).json()
    assert d["last_reason_code"] == "ok" and d["os_version"] == "1.0.0"
    assert d["cert_expires_at"] and d["last_attestation_at"]
    certs = world.srv.api("GET", f"/api/v1/devices/{dev['ueid']}/certificates", t["admin"]).json()
    assert [c["serial"] for c in certs["items"]] == [format(cert.serial_number, "x")]
    assert certs["items"][0]["purpose"] == "platform"
    # another tenant does not see it
    other = world.tenants["B"]["admin"]
    assert world.srv.api("GET", f"/api/v1/devices/{dev['ueid']}/certificates", other).status_code == 404


def test_pem_on_request_and_app_certificate_recorded_separately(world):
    dev = world.device()
    body = world.body(dev, world.nonce(), purpose="app")
    r = world.post("A", body, accept="application/x-pem-file")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/x-pem-file"
    cert = x509.load_pem_x509_certificate(r.content)
    r = world.enroll(dev)
    assert r.status_code == 200, r.text
    t = world.tenants["A"]
    items = world.srv.api("GET", f"/api/v1/devices/{dev['ueid']}/certificates", t["admin"]).json()["items"]
    assert [c["purpose"] for c in items] == ["app", "platform"]
    assert items[0]["serial"] == format(cert.serial_number, "x")


def test_cacerts_serves_current_and_next(world):
    t = world.tenants["C"]
    tid = t["id"]
    r = world.srv.api("GET", f"/.well-known/est/{tid}/cacerts")
    assert r.status_code == 200
    assert len(p7_certs(r)) == 1
    assert world.srv.api("POST", "/api/v1/ca/rotate", t["admin"]).status_code in (200, 201)
    pem = cacerts(world, "C")
    assert len(pem) == 2
    assert [c.fingerprint(hashes.SHA256()) for c in p7_certs(
        world.srv.api("GET", f"/.well-known/est/{tid}/cacerts"))] == \
        [c.fingerprint(hashes.SHA256()) for c in pem]
    assert world.srv.api("GET", "/.well-known/est/ten_" + "0" * 32 + "/cacerts").status_code == 404


def test_reenroll_with_own_certificate(world, tmp_path):
    dev = world.device()
    key = tmp_path / "k.pem"
    r = world.post("A", world.body(dev, world.nonce(), key_out=key),
                   accept="application/x-pem-file")
    assert r.status_code == 200, r.text
    crt = tmp_path / "c.pem"
    crt.write_bytes(r.content)
    r = world.post("A", world.body(dev, world.nonce(), version="2.0.0"), reenroll=True,
                   cert=(str(crt), str(key)))
    assert r.status_code == 200, r.text
    # without a client certificate the route is refused before any check
    r = world.post("A", world.body(dev, world.nonce(), version="2.0.0"), reenroll=True)
    assert r.status_code == 401


def real_os_device(world, tmp_path, version="7.0.0", svn=7, tenant="A"):
    """A device with a signed OS image in slot a, booted once by a real
    rampart-boot to read what it measures; returns (device, boot info)."""
    rampart = binary("rampart")
    f = world.f
    src = tmp_path / f"os-{version}"
    src.mkdir()
    (src / "init").write_text("#!/bin/sh\n")
    (src / "init").chmod(0o755)
    pkg = tmp_path / f"os-{version}.pkg"
    run([rampart, "image", "pack", src, "--out", pkg, "--name", "rampart-os", "--type", "os",
         "--version", version, "--svn", str(svn), "--component-id",
         "6f0e2a3c-3b1d-4c7e-9a55-0d7c1e9b2f10"])
    run([rampart, "image", "sign", pkg, "--key", f.dir / "platform.key"])
    dev = world.device(tenant=tenant)
    run([binary("rampart-device"), "install-os", dev["dir"], "--slot", "a", pkg])
    info = tmp_path / "info.json"
    run([binary("rampart-boot"), dev["dir"], "--", binary("rampart-attest-forge"), "--monitor",
         "--info-out", info])
    bi = json.loads(info.read_text())
    assert bi["ueid"] == dev["ueid"]
    return dev, bi


def test_real_rampart_boot_device_attests(world, tmp_path):
    """The honest path through a real rampart-boot: verified OS slot,
    measured boot, keys only inside the monitor."""
    dev, bi = real_os_device(world, tmp_path)
    forge = binary("rampart-attest-forge")
    body = tmp_path / "body.json"
    nonce = world.nonce()
    run([binary("rampart-boot"), dev["dir"], "--", forge, "--monitor", "--nonce", nonce,
         "--out", body])
    r = world.post("A", body.read_text())
    assert r.status_code == 403 and reason(r) == "os_not_released", r.text
    r = world.srv.api("POST", "/api/v1/os-releases", world.srv.bootstrap_token, json={
        "name": bi["os_name"], "version": bi["os_version"], "svn": bi["svn"], "sha256": bi["fwid"]})
    assert r.status_code == 201, r.text
    nonce = world.nonce()
    run([binary("rampart-boot"), dev["dir"], "--", forge, "--monitor", "--nonce", nonce,
         "--out", body])
    r = world.post("A", body.read_text())
    assert r.status_code == 200, r.text
    d = world.srv.api("GET", f"/api/v1/devices/{dev['ueid']}", world.tenants["A"]["admin"]).json()
    assert d["os_version"] == "7.0.0" and d["last_reason_code"] == "ok"


# ---- attacks: one matrix ----

def issued_state(world):
    return world.srv.db_dump()["device_certs"], world.srv.db_dump()["device_attest"]


def p256_other_csr(tmp, kind):
    key = ec.generate_private_key(ec.SECP384R1()) if kind == "p384" else \
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")])).sign(key, hashes.SHA256())
    p = tmp / f"csr-{kind}.der"
    p.write_bytes(csr.public_bytes(serialization.Encoding.DER))
    return p


def case_replay(w, tmp):
    dev = w.device()
    body = w.body(dev, w.nonce())
    assert w.post("A", body).status_code == 200
    return w.post("A", body)


def case_nonce_unknown(w, tmp):
    fake = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    return w.post("A", w.body(w.device(), fake))


def case_nonce_other_tenant(w, tmp):
    return w.enroll(w.device(), "A", nonce_tenant="B")


def case_unregistered(w, tmp):
    return w.enroll(w.device(register=False, claim=False))


def case_unclaimed(w, tmp):
    return w.enroll(w.device(claim=False))


def case_other_tenant(w, tmp):
    return w.enroll(w.device(tenant="B"), "A")


def case_blocked(w, tmp):
    dev = w.device()
    r = w.srv.api("POST", f"/api/v1/devices/{dev['ueid']}/block", w.tenants["A"]["admin"],
                  json={"reason": "stolen"})
    assert r.status_code == 200, r.text
    return w.enroll(dev)


def case_unknown_manufacturer(w, tmp):
    return w.enroll(w.device(register=False, claim=False, mfg="rogue-mfg"))


def case_alias_stranger(w, tmp):
    return w.enroll(w.device(), "A", "--alias-by-stranger")


def case_evidence_stranger(w, tmp):
    return w.enroll(w.device(), "A", "--evidence-by-stranger")


def case_ueid_mismatch(w, tmp):
    other = w.device()
    return w.enroll(w.device(), "A", "--ueid-claim", other["ueid"])


def case_debug_production(w, tmp):
    return w.enroll(w.device(group="Production", debug=True))


def case_os_not_released(w, tmp):
    return w.enroll(w.device(), version="9.9.9")


def case_svn_below_floor(w, tmp):
    t = w.tenants["C"]
    r = w.srv.api("PUT", "/api/v1/attestation/settings", t["admin"], json={"svn_floor": 2})
    assert r.status_code == 200, r.text
    assert w.srv.api("GET", "/api/v1/attestation/settings", t["admin"]).json() == {"svn_floor": 2}
    return w.enroll(w.device(tenant="C"), "C")


def case_svn_rollback(w, tmp):
    dev = w.device()
    assert w.enroll(dev, version="2.0.0").status_code == 200
    return w.enroll(dev, version="1.0.0")


def case_csr_unbound(w, tmp):
    return w.enroll(w.device(), "A", "--unbound-csr")


def case_csr_no_binding(w, tmp):
    return w.enroll(w.device(), "A", "--no-binding")


def case_csr_p384(w, tmp):
    return w.enroll(w.device(), "A", "--csr-file", p256_other_csr(tmp, "p384"))


def case_csr_rsa(w, tmp):
    return w.enroll(w.device(), "A", "--csr-file", p256_other_csr(tmp, "rsa"))


def case_csr_garbage(w, tmp):
    g = tmp / "garbage.der"
    g.write_bytes(b"\x30\x03\x02\x01\x01")
    return w.enroll(w.device(), "A", "--csr-file", g)


def _mutate(w, field, value):
    body = json.loads(w.body(w.device(), w.nonce()))
    body[field] = value
    return w.post("A", json.dumps(body))


def case_malformed_jws(w, tmp):
    return _mutate(w, "evidence", "eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2ln")


def case_malformed_chain(w, tmp):
    return _mutate(w, "chain", ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"] * 3)


def case_malformed_csr_base64(w, tmp):
    return _mutate(w, "csr", "not base64!")


def case_malformed_unknown_member(w, tmp):
    return _mutate(w, "extra", 1)


def case_reenroll_other_device_cert(w, tmp):
    x = w.device()
    key = tmp / "x.key"
    r = w.post("A", w.body(x, w.nonce(), key_out=key), accept="application/x-pem-file")
    assert r.status_code == 200, r.text
    crt = tmp / "x.crt"
    crt.write_bytes(r.content)
    y = w.device()
    return w.post("A", w.body(y, w.nonce()), reenroll=True, cert=(str(crt), str(key)))


MATRIX = [
    ("replayed nonce", case_replay, "nonce_used"),
    ("unknown nonce", case_nonce_unknown, "nonce_unknown"),
    ("nonce of another tenant", case_nonce_other_tenant, "nonce_wrong_tenant"),
    ("unregistered DeviceID", case_unregistered, "device_unregistered"),
    ("registered, unclaimed", case_unclaimed, "device_unclaimed"),
    ("claimed by another tenant", case_other_tenant, "device_other_tenant"),
    ("blocked device", case_blocked, "device_blocked"),
    ("unknown manufacturer", case_unknown_manufacturer, "chain_unknown_manufacturer"),
    ("Alias not signed by DeviceID", case_alias_stranger, "alias_not_signed_by_deviceid"),
    ("evidence signed by another key", case_evidence_stranger, "evidence_signature"),
    ("ueid mismatch", case_ueid_mismatch, "ueid_mismatch"),
    ("debug device in Production", case_debug_production, "debug_not_allowed"),
    ("OS not released", case_os_not_released, "os_not_released"),
    ("SVN below the tenant floor", case_svn_below_floor, "svn_below_floor"),
    ("SVN rollback", case_svn_rollback, "svn_rollback"),
    ("CSR key not bound", case_csr_unbound, "csr_not_bound"),
    ("evidence binds no key", case_csr_no_binding, "csr_not_bound"),
    ("CSR with a P-384 key", case_csr_p384, "csr_key_not_p256"),
    ("CSR with an RSA key", case_csr_rsa, "csr_key_not_p256"),
    ("CSR garbage DER", case_csr_garbage, "csr_invalid"),
    ("malformed JWS", case_malformed_jws, "malformed"),
    ("malformed chain", case_malformed_chain, "malformed"),
    ("malformed CSR base64", case_malformed_csr_base64, "malformed"),
    ("unknown body member", case_malformed_unknown_member, "malformed"),
    ("reenroll with another device's certificate", case_reenroll_other_device_cert,
     "reenroll_cert_mismatch"),
]


@pytest.mark.parametrize("name,case,code", MATRIX, ids=[m[0] for m in MATRIX])
def test_attack_matrix(world, tmp_path, name, case, code):
    audit_before = world.srv.db_query("SELECT count(*) FROM audit WHERE detail LIKE ?",
                                      (f"reason={code}%",))[0][0]
    before = {}

    # the state that a refusal must never touch: certificates and SVN state
    # (snapshotted after the case's own setup, inside the case function)
    orig_post = world.post

    def post(*a, **kw):
        before.setdefault("s", issued_state(world))
        return orig_post(*a, **kw)

    world.post = post
    try:
        r = case(world, tmp_path)
    finally:
        world.post = orig_post
    assert 400 <= r.status_code < 500, r.text
    assert reason(r) == code, f"{name}: {r.text}"
    assert r.json()["error"]["message"]
    if code != "nonce_used" and code != "svn_rollback" and code != "reenroll_cert_mismatch":
        assert issued_state(world) == before["s"], f"{name} changed issued state"
    after = world.srv.db_query("SELECT count(*) FROM audit WHERE detail LIKE ?",
                               (f"reason={code}%",))[0][0]
    assert after == audit_before + 1
    m = world.srv.api("GET", "/metrics").text
    assert re.search(r'^rampart_attest_total\{result="%s"\} [1-9]' % code, m, re.M), m


def test_refusal_recorded_on_own_device(world):
    dev = world.device()
    r = world.enroll(dev, version="9.9.9")
    assert reason(r) == "os_not_released"
    d = world.srv.api("GET", f"/api/v1/devices/{dev['ueid']}", world.tenants["A"]["admin"]).json()
    assert d["last_reason_code"] == "os_not_released" and d["cert_expires_at"] is None


def test_expired_nonce(make_server, tmp_path):
    srv = make_server("--rate-limit", "0", "--nonce-lifetime", "1")
    w = World(srv, tmp_path)
    dev = w.device()
    nonce = w.nonce()
    body = w.body(dev, nonce)
    time.sleep(1.5)
    r = w.post("A", body)
    assert r.status_code == 403 and reason(r) == "nonce_expired", r.text


def test_os_release_and_settings_routes_validate(world):
    tok = world.srv.bootstrap_token
    for bad in ({"name": "x y", "version": "1", "svn": 1, "sha256": "0" * 64},
                {"name": "x", "version": "1", "svn": -1, "sha256": "0" * 64},
                {"name": "x", "version": "1", "svn": 1, "sha256": "G" * 64},
                {"name": "x", "version": "1", "svn": 1}):
        r = world.srv.api("POST", "/api/v1/os-releases", tok, json=bad)
        assert r.status_code == 400, (bad, r.text)
    r = world.srv.api("POST", "/api/v1/os-releases", tok, json={
        "name": "rampart-os", "version": "1.0.0", "svn": 1, "sha256": fwid("rampart-os", "1.0.0")})
    assert r.status_code == 409
    admin = world.tenants["B"]["admin"]
    assert world.srv.api("POST", "/api/v1/os-releases", admin, json={}).status_code == 403
    r = world.srv.api("PUT", "/api/v1/attestation/settings", admin, json={"svn_floor": -1})
    assert r.status_code == 400
    assert world.srv.api("GET", "/api/v1/os-releases", admin).json()["items"]


def test_reenroll_with_own_expired_certificate(make_server, tmp_path, monkeypatch):
    """A certificate the tenant's CA issued to this very device, but
    expired, does not authenticate a reenroll."""
    monkeypatch.setenv("RAMPART_TEST", "1")
    srv = make_server("--rate-limit", "0", "--test-cert-backdate", "30")
    w = World(srv, tmp_path)
    dev = w.device()
    key = tmp_path / "k.pem"
    r = w.post("A", w.body(dev, w.nonce(), key_out=key), accept="application/x-pem-file")
    assert r.status_code == 200, r.text
    c = x509.load_pem_x509_certificate(r.content)
    assert c.not_valid_after < datetime.datetime.utcnow()
    crt = tmp_path / "c.pem"
    crt.write_bytes(r.content)
    r = w.post("A", w.body(dev, w.nonce()), reenroll=True, cert=(str(crt), str(key)))
    assert r.status_code == 403 and reason(r) == "reenroll_cert_mismatch", r.text
    assert "not valid now" in r.json()["error"]["message"]


def test_backdate_flag_needs_test_mode(tmp_path, monkeypatch):
    monkeypatch.delenv("RAMPART_TEST", raising=False)
    p = subprocess.run([binary("rampart-server"), "--data", str(tmp_path / "d"),
                        "--test-cert-backdate", "30"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "RAMPART_TEST=1" in p.stderr


def test_nonce_for_unknown_tenant_stores_nothing(world):
    before = world.srv.db_dump()["attest_nonces"]
    for t in ("ten_" + "0" * 32, "nope", "ten_" + "Z" * 32):
        r = world.srv.api("POST", f"/.well-known/est/{t}/nonce")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert world.srv.db_dump()["attest_nonces"] == before
    # the store keeps the nonce's hash, never the nonce
    n = world.nonce()
    raw = base64.urlsafe_b64decode(n + "=")
    rows = world.srv.db_query("SELECT hash FROM attest_nonces")
    assert (hashlib.sha256(raw).digest(),) in rows and (raw,) not in rows

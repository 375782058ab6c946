"""A real third-party relying party: Mosquitto configured with the tenant's
CA bundle from the EST cacerts route and `require_certificate true` accepts
a device certificate obtained through a real attestation, and refuses a
certificate of another tenant, an expired one and a self-made one. The
broker runs on a free loopback port with its own configuration."""
import datetime
import os
import shutil
import socket
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from server_fixture import Server
from conftest import binary
from test_attest import World, real_os_device

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
PUB = shutil.which("mosquitto_pub")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(cn, path_key, path_crt, ca=False, issuer=None):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.utcnow()
    b = (x509.CertificateBuilder().subject_name(name)
         .issuer_name(issuer[0].subject if issuer else name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]),
            critical=False)
    cert = b.sign(issuer[1] if issuer else key, hashes.SHA256())
    path_key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    path_crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


@pytest.fixture
def setup(tmp_path, monkeypatch):
    if not PUB or not os.path.exists(MOSQUITTO):
        pytest.fail("mosquitto and mosquitto-clients are required (tools/debian-packages.txt)")
    monkeypatch.setenv("RAMPART_TEST", "1")
    srv = Server(tmp_path / "data", ["--rate-limit", "0"]).start()
    w = World(srv, tmp_path)
    # the broker's own server certificate, from a CA the clients trust
    ca = self_signed("broker test CA", tmp_path / "bca.key", tmp_path / "bca.crt", ca=True)
    self_signed("localhost", tmp_path / "broker.key", tmp_path / "broker.crt", issuer=ca)
    r = srv.api("GET", f"/.well-known/est/{w.tenants['A']['id']}/cacerts",
                headers={"Accept": "application/x-pem-file"})
    assert r.status_code == 200
    (tmp_path / "tenant-ca.pem").write_bytes(r.content)
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    log = tmp_path / "mosquitto.log"
    conf.write_text(f"""per_listener_settings false
allow_anonymous false
user root
log_dest file {log}
log_type all
persistence false
listener {port} 127.0.0.1
cafile {tmp_path / 'tenant-ca.pem'}
certfile {tmp_path / 'broker.crt'}
keyfile {tmp_path / 'broker.key'}
require_certificate true
use_identity_as_username true
tls_version tlsv1.2
""")
    broker = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        broker.kill()
        pytest.fail("mosquitto did not start: " + (log.read_text() if log.exists() else ""))
    yield {"srv": srv, "w": w, "port": port, "dir": tmp_path, "log": log}
    broker.terminate()
    broker.wait(timeout=10)
    assert srv.stop() == 0


def device_cert(s, tenant, name):
    """A certificate from a real attestation of a fresh device of `tenant`."""
    w, d = s["w"], s["dir"]
    dev = w.device(tenant=tenant)
    key = d / f"{name}.key"
    r = w.post(tenant, w.body(dev, w.nonce(tenant), key_out=key),
               accept="application/x-pem-file")
    assert r.status_code == 200, r.text
    crt = d / f"{name}.crt"
    crt.write_bytes(r.content)
    return dev, crt, key


def publish(s, crt, key):
    return subprocess.run([PUB, "-h", "127.0.0.1", "-p", str(s["port"]), "--cafile",
                           str(s["dir"] / "bca.crt"), "--cert", str(crt), "--key", str(key),
                           "-t", "rampart/test", "-m", "hello", "-q", "1", "-i",
                           "c" + os.urandom(4).hex()],
                          capture_output=True, text=True, timeout=30)


def test_broker_accepts_device_and_refuses_the_rest(setup):
    s = setup
    dev, crt, key = device_cert(s, "A", "good")
    p = publish(s, crt, key)
    assert p.returncode == 0, p.stderr
    # the broker took the identity from the certificate: CN = the UEID
    time.sleep(0.2)
    assert dev["ueid"] in s["log"].read_text()

    # a certificate of another tenant (a real one, from tenant B's CA)
    _, crt_b, key_b = device_cert(s, "B", "other")
    p = publish(s, crt_b, key_b)
    assert p.returncode != 0, "broker accepted another tenant's certificate"

    # a self-made certificate naming the same device
    self_signed(dev["ueid"], s["dir"] / "self.key", s["dir"] / "self.crt")
    p = publish(s, s["dir"] / "self.crt", s["dir"] / "self.key")
    assert p.returncode != 0, "broker accepted a self-made certificate"

    # an expired certificate from the tenant's own CA: the same service
    # issues with its validity moved 30 hours into the past
    srv = s["srv"]
    srv.stop()
    srv.args += ["--test-cert-backdate", "30"]
    srv.start()
    _, crt_x, key_x = device_cert(s, "A", "expired")
    c = x509.load_pem_x509_certificate(crt_x.read_bytes())
    assert c.not_valid_after < datetime.datetime.utcnow()
    p = publish(s, crt_x, key_x)
    assert p.returncode != 0, "broker accepted an expired certificate"

    # and the good certificate still works after all that
    assert publish(s, crt, key).returncode == 0


def test_broker_accepts_a_key_that_never_left_the_monitor(setup):
    """The device of a real rampart-boot attests, and the program running
    under it connects to the broker with the issued certificate while every
    handshake signature is made by the monitor's tls-sign."""
    s = setup
    w, d = s["w"], s["dir"]
    dev, bi = real_os_device(w, d)
    r = w.srv.api("POST", "/api/v1/os-releases", w.srv.bootstrap_token, json={
        "name": bi["os_name"], "version": bi["os_version"], "svn": bi["svn"], "sha256": bi["fwid"]})
    assert r.status_code == 201, r.text
    body, cert = d / "boot-body.json", d / "boot-cert.pem"
    p = subprocess.Popen([binary("rampart-boot"), str(dev["dir"]), "--",
                          binary("rampart-attest-forge"), "--monitor", "--nonce", w.nonce(),
                          "--out", str(body), "--cert-in", str(cert),
                          "--mqtt", f"127.0.0.1:{s['port']}", "--mqtt-ca", str(d / "bca.crt")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):
            if body.exists() or p.poll() is not None:
                break
            time.sleep(0.1)
        assert body.exists(), p.communicate(timeout=10)
        r = w.post("A", body.read_text(), accept="application/x-pem-file")
        assert r.status_code == 200, r.text
        tmp = d / "boot-cert.tmp"
        tmp.write_bytes(r.content)
        tmp.rename(cert)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, (out, err)
    assert "connack rc=0" in out
    time.sleep(0.2)
    assert dev["ueid"] in s["log"].read_text()

"""rampart-boot, the security monitor and rampart-device, driven as real
processes on emulated devices: provisioning and the DICE chain (checked by
stock openssl), secure/measured boot with A/B slots, attacks on the slots,
trial boots that revert, power loss at every state-changing step, and the
monitor protocol under hostile input."""
import base64
import hashlib
import hmac
import json
import os
import pathlib
import re
import shutil
import stat
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from conftest import TOP, binary, run

COMPONENT = "6f0e2a3c-3b1d-4c7e-9a55-0d7c1e9b2f10"
APP_COMPONENT = "8a0e2d94-17c3-4f55-b2a6-9d3e1c4b5f22"
REBOOT = 64
RECOVERY = 3


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    """Manufacturer CAs, platform and stranger keys, and signed OS packages."""
    d = tmp_path_factory.mktemp("factory")
    rampart = binary("rampart")
    run([rampart, "keys", "mfg-init", "--out", d / "mfg"])
    for k in ("platform", "stranger"):
        run([rampart, "keys", "generate", "--out", d / f"{k}.key", "--pub", d / f"{k}.pub"])

    def pkg(name, version, svn, key="platform", typ="os"):
        src = d / f"src-{name}"
        src.mkdir()
        (src / "init").write_text(f"#!/bin/sh\necho {name} {version}\n")
        (src / "init").chmod(0o755)
        image_name, component = "rampart-os", COMPONENT
        if typ == "app":
            image_name, component = "blink", APP_COMPONENT
            (src / "app_manifest.json").write_text(json.dumps({
                "SchemaVersion": 1, "Name": image_name, "ComponentId": component,
                "EntryPoint": "/init", "Capabilities": {}}))
        out = d / f"{name}.pkg"
        run([rampart, "image", "pack", src, "--out", out, "--name", image_name, "--type", typ,
             "--version", version, "--svn", str(svn), "--component-id", component])
        run([rampart, "image", "sign", out, "--key", d / f"{key}.key"])
        return out

    pkgs = {
        "v1": pkg("v1", "1.0.0", 1),
        "v2": pkg("v2", "2.0.0", 2),
        "stranger": pkg("stranger", "9.0.0", 9, key="stranger"),
        "app": pkg("app", "1.0.0", 5, typ="app"),
    }
    return {"dir": d, "mfg": d / "mfg", "pkgs": pkgs, "platform_pub": d / "platform.pub"}


def provision(factory, dev, records, *extra):
    return run([binary("rampart-device"), "provision", dev, "--mfg-ca", factory["mfg"],
                "--records", records, "--platform-key", factory["platform_pub"], *extra])


def install(dev, slot, pkg, *extra, check=True, env=None):
    return run([binary("rampart-device"), "install-os", dev, "--slot", slot, pkg, *extra],
               check=check, env=env)


@pytest.fixture
def device(factory, tmp_path):
    """A provisioned, locked device with OS v1 confirmed in slot a."""
    dev = tmp_path / "dev"
    provision(factory, dev, tmp_path / "records.jsonl")
    install(dev, "a", factory["pkgs"]["v1"])
    return dev


def boot(dev, *cmds, max_boots=None, user=None, env=None, check=True, timeout=120):
    args = [binary("rampart-boot")]
    if max_boots:
        args += ["--max-boots", str(max_boots)]
    if user:
        args += ["--user", user]
    args += [dev, "--", binary("rampart-nwprobe"), *cmds]
    e = dict(os.environ)
    e.pop("RP_FAULT", None)
    if env:
        e.update(env)
    return run(args, check=check, env=e, timeout=timeout)


def infos(out):
    """Parses every 'info k=v ...' line of the probe's output."""
    res = []
    for line in out.splitlines():
        if line.startswith("info "):
            res.append(dict(kv.split("=", 1) for kv in line.split()[1:]))
    return res


def events(dev):
    return (dev / "events").read_text()


# ---- provisioning and the DICE chain ----

def test_provision_record_and_openssl_chain(factory, tmp_path):
    dev, records = tmp_path / "dev", tmp_path / "records.jsonl"
    provision(factory, dev, records)
    lines = records.read_text().splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0])
    assert list(rec) == ["ueid", "deviceid_pub", "deviceid_cert", "device_ca", "debug",
                         "provisioned_at"]
    assert re.fullmatch(r"[0-9a-f]{40}", rec["ueid"])
    assert rec["debug"] is False
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rec["provisioned_at"])
    assert "=" not in rec["deviceid_pub"]
    pub = serialization.load_der_public_key(b64url_decode(rec["deviceid_pub"]))
    cert = x509.load_pem_x509_certificate(rec["deviceid_cert"].encode())
    assert cert.public_key().public_numbers() == pub.public_numbers()
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == rec["ueid"]
    assert rec["device_ca"] == (factory["mfg"] / "device-ca.pem").read_text()

    install(dev, "a", factory["pkgs"]["v1"])
    out = tmp_path / "chain"
    out.mkdir()
    p = boot(dev, "info", "chain-pem", out)
    assert infos(p.stdout)[0]["ueid"] == rec["ueid"]
    assert (out / "deviceid.pem").read_text() == rec["deviceid_cert"]
    text = run(["openssl", "x509", "-in", out / "alias.pem", "-noout", "-text"]).stdout
    assert "2.23.133.5.4.1" in text and "2.23.133.5.4.4" in text
    assert "critical" not in text.split("2.23.133.5.4.1")[1].splitlines()[0]
    # the TcbInfo FWID is the verified image digest reported by boot info
    alias = x509.load_pem_x509_certificate((out / "alias.pem").read_bytes())
    tcb = alias.extensions.get_extension_for_oid(x509.ObjectIdentifier("2.23.133.5.4.1"))
    assert not tcb.critical
    assert bytes.fromhex(infos(p.stdout)[0]["fwid"]) in tcb.value.value
    ueid_ext = alias.extensions.get_extension_for_oid(x509.ObjectIdentifier("2.23.133.5.4.4"))
    assert ueid_ext.value.value == bytes([0x30, 22, 0x04, 20]) + bytes.fromhex(rec["ueid"])

    # The DeviceID certificate is a CA (the DeviceID key signs the Alias
    # certificate), so the CAs above it must allow it.
    for name, need in (("device-ca.pem", 1), ("root-ca.pem", 2)):
        c = x509.load_pem_x509_certificate((factory["mfg"] / name).read_bytes())
        plen = c.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length
        assert plen is None or plen >= need, (
            f"'rampart keys mfg-init' writes {name} with path length {plen}; the DICE chain "
            f"root -> device CA -> DeviceID (CA) -> Alias needs >= {need}")
    # stock OpenSSL: manufacturer root -> device CA -> DeviceID -> Alias
    v = run(["openssl", "verify", "-CAfile", factory["mfg"] / "root-ca.pem",
             "-untrusted", factory["mfg"] / "device-ca.pem", "-untrusted", out / "deviceid.pem",
             out / "alias.pem"], check=False)
    assert v.returncode == 0 and ": OK" in v.stdout, v.stdout + v.stderr


def test_chain_with_openssl_made_cas(factory, tmp_path):
    """The same chain under CAs made by the openssl CLI (root without a path
    length limit, device CA with path length 1, since the DeviceID
    certificate is itself a CA for the Alias certificate), provisioned with
    --ca-cert/--ca-key: stock tools build and verify the whole chain."""
    ca = tmp_path / "ca"
    ca.mkdir()
    (ca / "ext.cnf").write_text(
        "[root]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
        "subjectKeyIdentifier=hash\n"
        "[dca]\nbasicConstraints=critical,CA:TRUE,pathlen:1\n"
        "keyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n")
    for k in ("root", "dca"):
        run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", ca / f"{k}.key"])
    run(["openssl", "req", "-x509", "-new", "-key", ca / "root.key", "-subj", "/CN=Test Root",
         "-days", "30", "-config", ca / "ext.cnf", "-extensions", "root", "-out", ca / "root.pem"])
    run(["openssl", "req", "-new", "-key", ca / "dca.key", "-subj", "/CN=Test Device CA",
         "-out", ca / "dca.csr"])
    run(["openssl", "x509", "-req", "-in", ca / "dca.csr", "-CA", ca / "root.pem", "-CAkey",
         ca / "root.key", "-CAcreateserial", "-days", "30", "-extfile", ca / "ext.cnf",
         "-extensions", "dca", "-out", ca / "dca.pem"])
    dev = tmp_path / "dev"
    run([binary("rampart-device"), "provision", dev, "--ca-cert", ca / "dca.pem", "--ca-key",
         ca / "dca.key", "--records", tmp_path / "r.jsonl", "--platform-key",
         factory["platform_pub"]])
    install(dev, "a", factory["pkgs"]["v1"])
    out = tmp_path / "chain"
    out.mkdir()
    boot(dev, "chain-pem", out)
    v = run(["openssl", "verify", "-CAfile", ca / "root.pem", "-untrusted", ca / "dca.pem",
             "-untrusted", out / "deviceid.pem", out / "alias.pem"], check=False)
    assert v.returncode == 0 and ": OK" in v.stdout, v.stdout + v.stderr
    text = run(["openssl", "x509", "-in", out / "alias.pem", "-noout", "-text"]).stdout
    assert "2.23.133.5.4.1" in text and "2.23.133.5.4.4" in text
    text = run(["openssl", "x509", "-in", out / "deviceid.pem", "-noout", "-text"]).stdout
    assert "CA:TRUE, pathlen:0" in text and "2.23.133.5.4.4" in text


def test_provision_refuses_locked_device_and_bad_input(factory, device, tmp_path):
    records = tmp_path / "records2.jsonl"
    p = run([binary("rampart-device"), "provision", device, "--mfg-ca", factory["mfg"],
             "--records", records, "--platform-key", factory["platform_pub"]], check=False)
    assert p.returncode == 1 and "already provisioned and locked" in p.stderr
    assert not records.exists()
    p = run([binary("rampart-device"), "provision", tmp_path / "other", "--mfg-ca",
             factory["mfg"], "--records", records], check=False)
    assert p.returncode == 2 and "--platform-key" in p.stderr
    p = run([binary("rampart-device"), "provision", tmp_path / "other", "--ca-cert",
             factory["mfg"] / "device-ca.pem", "--ca-key", factory["mfg"] / "root-ca.key",
             "--records", records, "--platform-key", factory["platform_pub"]], check=False)
    assert p.returncode == 1 and "is not the key of" in p.stderr


@pytest.mark.parametrize("point", ["rot-program", "provision-certify", "rot-lock",
                                   "provision-record", "write-before-fsync@2",
                                   "rename-before-dirsync@3"])
def test_power_loss_during_provisioning(factory, tmp_path, point):
    """The station loses power at each step: the device either can be
    provisioned again (not locked yet) or its record can be re-emitted; in
    the end the records file holds one valid record for the device."""
    dev, records = tmp_path / "dev", tmp_path / "records.jsonl"
    env = dict(os.environ, RP_FAULT=point)
    p = run([binary("rampart-device"), "provision", dev, "--mfg-ca", factory["mfg"],
             "--records", records, "--platform-key", factory["platform_pub"]], check=False,
            env=env)
    assert p.returncode in (-9, 137), (point, p.returncode, p.stderr)
    assert not records.exists() or records.read_text() == ""
    info = run([binary("rampart-device"), "info", dev]).stdout
    if "lifecycle: locked" in info:
        p = run([binary("rampart-device"), "provision", dev, "--mfg-ca", factory["mfg"],
                 "--records", records, "--platform-key", factory["platform_pub"]], check=False)
        assert p.returncode == 1 and "locked" in p.stderr
        run([binary("rampart-device"), "record", dev, "--records", records])
    else:
        provision(factory, dev, records)
    lines = records.read_text().splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0])
    install(dev, "a", factory["pkgs"]["v1"])
    assert infos(boot(dev, "info").stdout)[0]["ueid"] == rec["ueid"]
    p = run([binary("rampart-device"), "record", tmp_path / "nothing", "--records", records],
            check=False)
    assert p.returncode == 1


def test_device_files_are_root_only(device):
    assert stat.S_IMODE(device.stat().st_mode) == 0o700
    for name in ("fuses", "slotstate", "events", "slots/a.pkg"):
        st = (device / name).stat()
        assert stat.S_IMODE(st.st_mode) == 0o600, name
        assert st.st_uid == 0
    info = run([binary("rampart-device"), "info", device]).stdout
    assert "lifecycle: locked" in info and "slot a: priority 1, confirmed" in info
    # the UDS never appears in the public view
    uds = (device / "fuses").read_bytes()[12:44]
    assert uds.hex() not in info


def test_dice_vectors_independent():
    """Recomputes the committed golden vectors with Python's own HKDF and
    P-256, so the C derivation is checked against a second implementation."""
    vec = {}
    for line in (TOP / "tests/data/dice/vectors.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            k, v = line.split(" ", 1)
            vec[k] = v

    def hkdf(salt, ikm, info, n):
        prk = hmac.new(salt or b"\0" * 64, ikm, hashlib.sha512).digest()
        out, t, i = b"", b"", 1
        while len(out) < n:
            t = hmac.new(prk, t + info + bytes([i]), hashlib.sha512).digest()
            out, i = out + t, i + 1
        return out[:n]

    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    salt = b"Rampart DICE ID salt v1"

    def key(secret):
        seed = hkdf(salt, secret, b"Key Pair", 32)
        d = int.from_bytes(hkdf(b"", seed, b"rampart p256 scalar", 64), "big") % (order - 1) + 1
        pub = ec.derive_private_key(d, ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return pub.hex(), hkdf(salt, pub, b"ID", 20).hex()

    uds = bytes.fromhex(vec["uds"])
    assert key(uds) == (vec["deviceid_pub"], vec["ueid"])
    code = hashlib.sha256(vec["image"].encode()).digest()
    m = hashlib.sha512(b"RPDICE1\0" + code + int(vec["svn"]).to_bytes(4, "big") + b"\x02").digest()
    assert key(hkdf(m, uds, b"CDI_Attest", 64)) == (vec["alias_pub"], vec["alias_id"])


# ---- secure and measured boot ----

def test_alias_follows_os_deviceid_stays(factory, device, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    p1 = boot(device, "info", "chain-der", a)
    install(device, "b", factory["pkgs"]["v2"])
    p2 = boot(device, "info", "chain-der", b)
    i1, i2 = infos(p1.stdout)[0], infos(p2.stdout)[0]
    assert (i1["slot"], i1["version"], i2["slot"], i2["version"]) == ("a", "1.0.0", "b", "2.0.0")
    assert i1["ueid"] == i2["ueid"]
    assert int(i2["bootcount"]) == int(i1["bootcount"]) + 1
    assert (a / "deviceid.der").read_bytes() == (b / "deviceid.der").read_bytes()
    ka = x509.load_der_x509_certificate((a / "alias.der").read_bytes()).public_key()
    kb = x509.load_der_x509_certificate((b / "alias.der").read_bytes()).public_key()
    assert ka.public_numbers() != kb.public_numbers()
    # same OS again: same Alias key (derived, not random)
    c = tmp_path / "c"
    c.mkdir()
    boot(device, "chain-der", c)
    kc = x509.load_der_x509_certificate((c / "alias.der").read_bytes()).public_key()
    assert kc.public_numbers() == kb.public_numbers()


def test_tampered_slot_is_not_booted(factory, device):
    install(device, "b", factory["pkgs"]["v2"])
    slot = device / "slots/b.pkg"
    data = bytearray(slot.read_bytes())
    data[len(data) // 2] ^= 0x01          # one flipped bit in the payload
    slot.write_bytes(bytes(data))
    p = boot(device, "info")
    assert infos(p.stdout)[0]["slot"] == "a"
    ev = events(device)
    assert re.search(r"skip slot=b reason=.*(SHA-256|digest|signature)", ev), ev
    assert "boot slot=a" in ev


def test_unknown_key_not_booted(factory, device):
    install(device, "b", factory["pkgs"]["v2"])
    shutil.copyfile(factory["pkgs"]["stranger"], device / "slots/b.pkg")
    p = boot(device, "info")
    assert infos(p.stdout)[0]["slot"] == "a"
    assert re.search(r"skip slot=b reason=.*(trusted|key)", events(device)), events(device)
    # install-os refuses it outright (and an app image), changing nothing
    before = (device / "slotstate").read_bytes()
    p = install(device, "b", factory["pkgs"]["stranger"], check=False)
    assert p.returncode == 1 and "cannot be installed" in p.stderr
    p = install(device, "b", factory["pkgs"]["app"], check=False)
    assert p.returncode == 1 and "not 'os'" in p.stderr
    assert (device / "slotstate").read_bytes() == before


def test_svn_floor_and_recovery(factory, device):
    install(device, "b", factory["pkgs"]["v2"])
    p = boot(device, "info", "advance", "os", "3", "advance", "os", "2", "counter", "os")
    assert "refused" in p.stdout and "cannot exceed the running OS's SVN 2" in p.stdout
    assert "advance os=2" in p.stdout and "counter os=2" in p.stdout
    # an attacker puts the old (validly signed) v1 back into slot b
    shutil.copyfile(factory["pkgs"]["v1"], device / "slots/b.pkg")
    p = boot(device, "info", check=False)
    assert p.returncode == RECOVERY, p.stderr
    assert "RECOVERY" in p.stderr and "below the anti-rollback floor 2" in p.stderr
    assert infos(p.stdout) == []
    ev = events(device)
    assert "skip slot=b reason=image SVN 1 is below the anti-rollback floor 2" in ev
    assert "recovery reason=no bootable OS slot" in ev
    # recovery: install a good image again
    install(device, "a", factory["pkgs"]["v2"])
    assert infos(boot(device, "info").stdout)[0]["version"] == "2.0.0"


def test_blank_device_does_not_boot(tmp_path):
    (tmp_path / "blank").mkdir()
    p = boot(tmp_path / "blank", "info", check=False)
    assert p.returncode == 1 and "blank" in p.stderr


def test_corrupt_slot_state_still_boots_only_verified(factory, device):
    install(device, "b", factory["pkgs"]["v2"])
    (device / "slotstate").write_bytes(b"garbage")
    shutil.copyfile(factory["pkgs"]["stranger"], device / "slots/a.pkg")
    p = boot(device, "info")
    assert infos(p.stdout)[0]["version"] == "2.0.0"
    ev = events(device)
    assert "slotstate-corrupt reason=slot state is 7 bytes" in ev
    assert "skip slot=a" in ev


def test_tampered_fuses_or_identity_refused(factory, device, tmp_path):
    other = tmp_path / "other"
    provision(factory, other, tmp_path / "r2.jsonl")
    saved = (device / "deviceid.pem").read_bytes()
    shutil.copyfile(other / "deviceid.pem", device / "deviceid.pem")
    p = boot(device, "info", check=False)
    assert p.returncode == 1 and "does not certify the DeviceID key" in p.stderr
    assert infos(p.stdout) == []
    (device / "deviceid.pem").write_bytes(saved)
    fuses = bytearray((device / "fuses").read_bytes())
    fuses[9] ^= 1                          # try to switch the debug fuse
    (device / "fuses").write_bytes(bytes(fuses))
    p = boot(device, "info", check=False)
    assert p.returncode == 1 and "fails its checksum" in p.stderr


def test_trial_slot_reverts_after_attempts(factory, device):
    install(device, "b", factory["pkgs"]["v2"], "--trial", "2")
    p = boot(device, "info", "exit", str(REBOOT), max_boots=5)
    slots = [(i["slot"], i["trial"]) for i in infos(p.stdout)]
    assert slots == [("b", "1"), ("b", "1"), ("a", "0"), ("a", "0"), ("a", "0")], p.stderr
    ev = events(device)
    assert ev.count("revert slot=b") == 1, ev
    assert "slot b: priority 0" in run([binary("rampart-device"), "info", device]).stdout


def test_trial_slot_confirmed_stays(factory, device):
    install(device, "b", factory["pkgs"]["v2"], "--trial", "1")
    p = boot(device, "info", "confirm", "info", "exit", str(REBOOT), max_boots=3)
    i = infos(p.stdout)
    assert [x["slot"] for x in i] == ["b"] * 6
    assert [x["trial"] for x in i] == ["1", "0", "0", "0", "0", "0"]
    assert "confirm slot=b" in events(device)


def test_install_os_through_the_monitor(factory, device):
    p = boot(device, "install", factory["pkgs"]["v2"], "2", "install", factory["pkgs"]["stranger"],
             "2", "install", factory["pkgs"]["app"], "2", "install", "/dev/null", "2",
             "install", factory["pkgs"]["v2"], "0", "info")
    out = p.stdout
    assert "install slot=b" in out               # never the running slot
    assert re.search(r"error install: .*\(refused\): .*cannot be installed", out)
    assert re.search(r"error install: .*not 'os'", out)
    assert re.search(r"error install: .*not a regular file", out)
    assert re.search(r"error install: .*\(malformed\): trial attempts 0", out)
    assert infos(out)[0]["slot"] == "a"
    i = infos(boot(device, "info", "confirm").stdout)[0]
    assert (i["slot"], i["version"], i["trial"]) == ("b", "2.0.0", "1")
    i = infos(boot(device, "info").stdout)[0]
    assert (i["slot"], i["trial"]) == ("b", "0")
    # from b, an install goes to a
    assert "install slot=a" in boot(device, "install", factory["pkgs"]["v2"], "1").stdout


def test_unprivileged_normal_world_installs_by_descriptor(factory, device):
    """The normal world cannot write the slots, but can hand over a package
    it can read; rampart-boot verifies it before anything changes."""
    import tempfile
    share = pathlib.Path(tempfile.mkdtemp(prefix="rp-share-"))
    try:
        share.chmod(0o755)
        pkg = share / "v2.pkg"
        shutil.copyfile(factory["pkgs"]["v2"], pkg)
        pkg.chmod(0o644)
        p = boot(device, "open", device / "slots/a.pkg", "install", pkg, "3", user="nobody")
        assert "Permission denied" in p.stdout and "install slot=b" in p.stdout, p.stdout
        i = infos(boot(device, "info").stdout)[0]
        assert (i["slot"], i["version"], i["trial"]) == ("b", "2.0.0", "1")
    finally:
        shutil.rmtree(share)


# ---- power loss at every state-changing step ----

BOOT_FAULTS = ["boot-commit", "boot-event", "write-before-fsync", "rename-before-dirsync",
               "write-before-fsync@2", "rename-before-dirsync@2"]
INSTALL_FAULTS = ["install-invalidate", "install-copy", "install-activate", "boot-event",
                  "write-before-fsync", "write-before-fsync@2", "rename-before-dirsync",
                  "rename-before-dirsync@2", "rename-before-dirsync@3"]


def assert_boots_verified(device, allowed):
    p = boot(device, "info")
    i = infos(p.stdout)
    assert len(i) == 1, p.stderr
    assert i[0]["version"] in allowed
    return i[0]


@pytest.mark.parametrize("point", BOOT_FAULTS)
def test_power_loss_during_trial_boot(factory, device, point):
    install(device, "b", factory["pkgs"]["v2"], "--trial", "3")
    p = boot(device, "info", env={"RP_FAULT": point}, check=False)
    assert p.returncode in (-9, 137), (point, p.returncode, p.stderr)
    assert_boots_verified(device, {"1.0.0", "2.0.0"})


@pytest.mark.parametrize("point", ["boot-revert", "boot-event@2"])
def test_power_loss_during_revert(factory, device, point):
    install(device, "b", factory["pkgs"]["v2"], "--trial", "1")
    boot(device, "info")                  # uses the only attempt
    p = boot(device, "info", env={"RP_FAULT": point}, check=False)
    assert p.returncode in (-9, 137), (point, p.returncode, p.stderr)
    assert assert_boots_verified(device, {"1.0.0"})["slot"] == "a"


@pytest.mark.parametrize("point", ["boot-confirm", "counter-advance"])
def test_power_loss_in_monitor_requests(factory, device, point):
    install(device, "b", factory["pkgs"]["v2"], "--trial", "3")
    p = boot(device, "info", "confirm", "advance", "os", "2", "info",
             env={"RP_FAULT": point}, check=False)
    assert p.returncode in (-9, 137), (point, p.returncode, p.stderr)
    i = assert_boots_verified(device, {"2.0.0"})
    assert i["slot"] == "b"


@pytest.mark.parametrize("point", ["install-invalidate", "install-copy", "install-activate"])
def test_power_loss_during_monitor_install(factory, device, point):
    install(device, "b", factory["pkgs"]["v1"])
    p = boot(device, "install", factory["pkgs"]["v2"], "2", env={"RP_FAULT": point},
             check=False)
    assert p.returncode in (-9, 137), (point, p.returncode, p.stderr)
    assert_boots_verified(device, {"1.0.0", "2.0.0"})


@pytest.mark.parametrize("point", INSTALL_FAULTS)
def test_power_loss_during_install(factory, device, point):
    install(device, "b", factory["pkgs"]["v1"])
    env = dict(os.environ, RP_FAULT=point)
    p = install(device, "b", factory["pkgs"]["v2"], "--trial", "2", check=False, env=env)
    assert p.returncode in (-9, 137), (point, p.returncode, p.stderr)
    assert_boots_verified(device, {"1.0.0", "2.0.0"})
    # and the interrupted install can simply be repeated
    install(device, "b", factory["pkgs"]["v2"], "--trial", "2")
    assert assert_boots_verified(device, {"2.0.0"})["slot"] == "b"


# ---- the monitor ----

def test_every_monitor_request(factory, device, tmp_path):
    chain = tmp_path / "chain"
    chain.mkdir()
    nonce = os.urandom(16).hex()
    digest = hashlib.sha256(b"blink app image").hexdigest()
    hs = hashlib.sha256(b"tls 1.3 transcript").hexdigest()
    p = boot(device, "info", "chain-pem", chain, "tls-key", "cn:device-tls",
             "tls-sign", "last", hs, "attest", nonce, "last", f"blink={digest}",
             "counter", "app.blink", "advance", "app.blink", "5", "advance", "app.blink", "4",
             "counter", "app.blink", "tls-destroy", "last", "tls-sign", "last", hs,
             "confirm", "reboot", max_boots=2)
    out = p.stdout
    info = infos(out)
    assert len(info) == 2 and int(info[1]["bootcount"]) == int(info[0]["bootcount"]) + 1
    assert "rebooting" in p.stderr
    # TLS key: CSR with the requested CN, handshake signature verifies
    csr_b64 = re.search(r"tls-key handle=\d+ csr=(\S+)", out).group(1)
    csr = x509.load_der_x509_csr(b64url_decode(csr_b64))
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "device-tls"
    sig = bytes.fromhex(re.search(r"tls-sign sig=(\S+)", out).group(1))
    csr.public_key().verify(sig, bytes.fromhex(hs), ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    # evidence: ES256 JWS by the Alias key over claims the monitor built
    jws = re.search(r"evidence (\S+)", out).group(1)
    h, payload, s = jws.split(".")
    header = json.loads(b64url_decode(h))
    assert header["alg"] == "ES256"
    alias = x509.load_pem_x509_certificate((chain / "alias.pem").read_bytes())
    raw = b64url_decode(s)
    der = utils.encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                     int.from_bytes(raw[32:], "big"))
    alias.public_key().verify(der, f"{h}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    claims = json.loads(b64url_decode(payload))
    assert b64url_decode(claims["eat_nonce"]) == bytes.fromhex(nonce)
    assert claims["ueid"] == info[0]["ueid"]
    assert claims["dbgstat"] == 3
    assert claims["bootcount"] == int(info[0]["bootcount"])
    assert (claims["swname"], claims["swversion"]) == ("rampart-os", "1.0.0")
    assert claims["fwid"] == info[0]["fwid"]
    assert claims["submods"] == {"blink": {"digest": digest}}
    spki = csr.public_key().public_numbers()
    jwk = json.dumps({"crv": "P-256", "kty": "EC",
                      "x": base64.urlsafe_b64encode(spki.x.to_bytes(32, "big")).rstrip(b"=").decode(),
                      "y": base64.urlsafe_b64encode(spki.y.to_bytes(32, "big")).rstrip(b"=").decode()},
                     separators=(",", ":"), sort_keys=True)
    thumb = base64.urlsafe_b64encode(hashlib.sha256(jwk.encode()).digest()).rstrip(b"=").decode()
    assert claims["cnf"] == {"jkt": thumb}
    # counters only go up; destroyed keys are gone
    assert "counter app.blink=0" in out and "advance app.blink=5" in out
    assert re.search(r"error advance: .*cannot go back to 4", out)
    assert "counter app.blink=5" in out
    assert "tls-destroy ok" in out
    assert re.search(r"error tls-sign: monitor refused tls-sign \(not-found\)", out)
    assert "confirm ok" in out and "reboot ok" in out
    # the chain served by the monitor is the one on the device
    assert (chain / "deviceid.pem").read_text() == (device / "deviceid.pem").read_text()


def test_reboot_request_ends_a_stuck_normal_world(device):
    p = boot(device, "info", "reboot-stay", max_boots=2)
    i = infos(p.stdout)
    assert len(i) == 2 and int(i[1]["bootcount"]) == int(i[0]["bootcount"]) + 1
    assert p.stdout.count("reboot-stay ok") == 2


def test_power_loss_takes_the_normal_world_down(device):
    """kill -9 of rampart-boot (the device losing power) must not leave the
    normal world running without its monitor."""
    proc = subprocess.Popen([binary("rampart-boot"), device, "--", binary("rampart-nwprobe"),
                             "pid", "sleep", "300"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("pid "), line
        child = int(line.split()[1])
        assert pathlib.Path(f"/proc/{child}").exists()
        proc.kill()
        proc.wait(timeout=30)
        for _ in range(300):
            try:
                state = pathlib.Path(f"/proc/{child}/stat").read_text().split()[2]
            except FileNotFoundError:
                break
            if state == "Z":
                break
            subprocess.run(["sleep", "0.1"])
        else:
            raise AssertionError(f"normal world {child} survived the power loss")
    finally:
        if proc.poll() is None:
            proc.kill()


def test_monitor_survives_malformed_requests(device):
    hdr = "524d"
    p = boot(device,
             "raw", hdr + "4200" + "00000000",            # unknown type
             "raw", hdr + "0100" + "00000009",            # length says 9, body empty
             "raw", hdr + "0700" + "00000005" + "060009" + "6f73",  # field overruns
             "raw", hdr + "0700" + "00000003" + "010000",  # tag not allowed
             "raw", "52",                                  # shorter than a header
             "oversize", "20000",                          # over the record limit
             "raw", hdr + "0300" + "0000000b" + "010008" + "3132333435363738",  # ok attest
             "info")
    out = p.stdout.splitlines()
    assert re.search(r"error raw: .*\(unknown-type\): unknown request type 66", out[0])
    assert re.search(r"error raw: .*\(malformed\): header says 9 body bytes", out[1])
    assert re.search(r"error raw: .*\(malformed\): field 0 \(tag 6\): length 9", out[2])
    assert re.search(r"error raw: .*\(malformed\): counter-read: field tag 1 is not allowed", out[3])
    assert re.search(r"error raw: .*\(malformed\)", out[4])
    assert re.search(r"error oversize: .*\(too-large\): message of 20000 bytes", out[5])
    assert out[6] == "raw ok"
    assert out[7].startswith("info ueid=")


def test_normal_world_cannot_read_secrets(device):
    p = boot(device, "open", device / "fuses", "open", device / "slotstate",
             "open", device / "slots/a.pkg", "info", user="nobody")
    assert f"open {device}/fuses: Permission denied" in p.stdout
    assert f"open {device}/slotstate: Permission denied" in p.stdout
    assert infos(p.stdout), "the unprivileged normal world still reaches the monitor"
    # and nothing the monitor hands out contains the UDS
    uds = (device / "fuses").read_bytes()[12:44]
    assert uds.hex() not in p.stdout and uds.hex() not in p.stderr


def test_debug_device_is_reported(factory, tmp_path):
    dev, records = tmp_path / "dbg", tmp_path / "r.jsonl"
    provision(factory, dev, records, "--debug")
    assert json.loads(records.read_text())["debug"] is True
    install(dev, "a", factory["pkgs"]["v1"])
    p = boot(dev, "info", "attest", "0011223344556677")
    assert infos(p.stdout)[0]["debug"] == "1"
    claims = json.loads(b64url_decode(re.search(r"evidence (\S+)", p.stdout).group(1).split(".")[1]))
    assert claims["dbgstat"] == 0

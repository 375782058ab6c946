"""`rampart repo`: the offline repository tooling, and the device-side checks
(`rampart repo verify` runs the same client library a device runs) attacked
with replayed, mixed, forged, expired, oversized and malformed metadata.

Forged metadata is signed here with `openssl dgst` over DSSE's
pre-authentication encoding, so a refusal can only come from the rule under
test, never from a broken signature."""
import base64
import datetime
import hashlib
import json
import os
import pathlib
import shutil
import stat
import subprocess

import pytest

from conftest import run

PAYLOAD_TYPE = b"application/vnd.rampart.tuf+json"
UEID = "0123456789abcdef0123456789abcdef01234567"
OS_UUID = "11111111-2222-3333-4444-555555555555"
APP_UUID = "66666666-2222-3333-4444-555555555555"
GLOBEX_UUID = "77777777-2222-3333-4444-555555555555"
OS_T = f"platform/{OS_UUID}/1.2.0"
OS2_T = f"platform/{OS_UUID}/1.3.0"
APP_T = f"acme/{APP_UUID}/2.0"


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def dump(o) -> bytes:
    return json.dumps(o, sort_keys=True, separators=(",", ":")).encode()


def key_id(pem: pathlib.Path) -> str:
    pub = pathlib.Path(pem).name.endswith(".pub.pem")
    der = subprocess.run(["openssl", "pkey", *(["-pubin"] if pub else []), "-in", str(pem),
                          "-pubout", "-outform", "DER"], capture_output=True, check=True).stdout
    return hashlib.sha256(der).hexdigest()


def raw_sig(der: bytes) -> bytes:
    """ECDSA-Sig-Value DER -> r||s, 32 bytes each."""
    assert der[0] == 0x30
    i = 2
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        v = int.from_bytes(der[i + 2:i + 2 + n], "big")
        out += v.to_bytes(32, "big")
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


def payload(path: pathlib.Path) -> dict:
    return json.loads(unb64u(json.loads(path.read_bytes())["payload"]))


def envelope(path: pathlib.Path) -> dict:
    return json.loads(path.read_bytes())


def iso(t: datetime.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def later(hours: float) -> str:
    return iso(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=hours))


class Repo:
    def __init__(self, rampart, tmp: pathlib.Path):
        self.r = rampart
        self.tmp = tmp
        self.d = tmp / "repo"
        self.md = self.d / "metadata"
        self.keys = self.d / "keys"
        self.state = tmp / "device-state.json"

    def repo(self, *args, check=True):
        return run([self.r, "repo", *args], check=check)

    def verify(self, *extra, check=True):
        return self.repo("verify", "--dir", self.d, "--ueid", UEID, "--state", self.state,
                         *extra, check=check)

    def refused(self, proc, text):
        assert proc.returncode == 1, f"expected refusal, got {proc.returncode}\n{proc.stdout}"
        assert text in proc.stderr, f"'{text}' not in: {proc.stderr}"

    def package(self, name, typ, version, svn, uuid, key):
        src = self.tmp / f"src-{name}-{version}"
        src.mkdir(exist_ok=True)
        (src / "file").write_text(f"{name} {version}\n")
        if typ == "app":
            (src / "bin").mkdir(exist_ok=True)
            entry = src / "bin" / name
            entry.write_text("#!/bin/sh\n")
            entry.chmod(0o755)
            (src / "app_manifest.json").write_text(json.dumps({
                "SchemaVersion": 1, "Name": name, "ComponentId": uuid,
                "EntryPoint": f"/bin/{name}", "Capabilities": {}}))
        out = self.tmp / f"{name}-{version}.img"
        run([self.r, "image", "pack", src, "--out", out, "--name", name, "--type", typ,
             "--version", version, "--svn", svn, "--component-id", uuid])
        run([self.r, "image", "sign", out, "--key", key])
        return out

    def keypair(self, name):
        priv, pub = self.tmp / f"{name}.pem", self.tmp / f"{name}.pub.pem"
        run([self.r, "keys", "generate", "--out", priv, "--pub", pub])
        return priv, pub

    def snapshot_files(self, tag):
        dst = self.tmp / tag
        shutil.copytree(self.md, dst)
        return dst


@pytest.fixture
def repo(rampart, tmp_path):
    """A repository with an OS image, tenant acme's app, a published
    snapshot/timestamp and an assignment for UEID, already verified once by
    the device (so the device state holds every version)."""
    rp = Repo(rampart, tmp_path)
    out = rp.repo("init", "--dir", rp.d)
    assert "for testing" in out.stdout
    rp.plat, rp.plat_pub = rp.keypair("platform-images")
    rp.acme, rp.acme_pub = rp.keypair("acme")
    rp.os_img = rp.package("os-main", "os", "1.2.0", 3, OS_UUID, rp.plat)
    rp.app_img = rp.package("sensor", "app", "2.0", 1, APP_UUID, rp.acme)
    rp.repo("add-target", "--dir", rp.d, "--trust", rp.plat_pub, rp.os_img)
    rp.repo("delegate", "--dir", rp.d, "--tenant", "acme", "--key", rp.acme_pub, "--component",
            APP_UUID)
    rp.repo("add-target", "--dir", rp.d, "--trust", rp.acme_pub, "--tenant", "acme", "--key",
            rp.acme, rp.app_img)
    rp.repo("publish", "--dir", rp.d)
    rp.repo("assign", "--dir", rp.d, "--ueid", UEID, OS_T, APP_T)
    first = rp.verify()
    assert "verified: root 1, timestamp 1, snapshot 1, targets 3, director 1" in first.stdout
    return rp


def test_init_keeps_keys_private(rampart, tmp_path):
    rp = Repo(rampart, tmp_path)
    rp.repo("init", "--dir", rp.d, "--keys", "5", "--threshold", "3")
    assert stat.S_IMODE(rp.d.stat().st_mode) == 0o700
    assert stat.S_IMODE(rp.keys.stat().st_mode) == 0o700
    pems = list(rp.keys.glob("*.pem"))
    assert len([p for p in pems if p.name.startswith("root-")]) == 5
    for p in pems:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    root = payload(rp.md / "root.json")
    assert root["_type"] == "root" and root["version"] == 1
    assert root["roles"]["root"]["threshold"] == 3 and len(root["roles"]["root"]["keyids"]) == 5
    assert len(envelope(rp.md / "root.json")["signatures"]) == 5
    # a second init over the same directory is refused
    rp.refused(rp.repo("init", "--dir", rp.d, check=False), "already holds a repository")
    bad = rp.repo("init", "--dir", tmp_path / "x", "--keys", "2", "--threshold", "3", check=False)
    assert bad.returncode == 2 and "--threshold is 3, allowed 1..2" in bad.stderr


def test_init_with_server_online_keys(rampart, tmp_path):
    rp = Repo(rampart, tmp_path)
    _, ts_pub = rp.keypair("server-timestamp")
    out = rp.repo("init", "--dir", rp.d, "--online-key", f"timestamp={ts_pub}")
    assert "timestamp key: public key from" in out.stdout
    assert not (rp.keys / "timestamp.pem").exists()
    assert (rp.keys / "timestamp.pub.pem").exists()
    assert payload(rp.md / "root.json")["roles"]["timestamp"]["keyids"] == [key_id(ts_pub)]
    rp.refused(rp.repo("publish", "--dir", rp.d, check=False),
               "no private timestamp key in")


def test_full_chain_installs_what_both_agree_on(repo):
    out = repo.verify()
    lines = [l for l in out.stdout.splitlines() if l.startswith("install ")]
    digest = hashlib.sha256(repo.os_img.read_bytes()).hexdigest()
    assert lines[0] == (f"install os {OS_T} component {OS_UUID} version 1.2.0 "
                        f"svn 3 length {repo.os_img.stat().st_size} sha256 {digest}")
    assert lines[1].startswith(f"install app {APP_T} component {APP_UUID} version 2.0 svn 1")
    assert len(lines) == 2


def test_add_target_refuses_unverified_or_misplaced_packages(repo):
    repo.refused(repo.repo("add-target", "--dir", repo.d, "--trust", repo.acme_pub, repo.os_img,
                           check=False),
                 "package '%s': image package is signed only by unknown key id(s)" % repo.os_img)
    repo.refused(repo.repo("add-target", "--dir", repo.d, "--trust", repo.acme_pub,
                           repo.app_img, check=False),
                 "is an app image: app images are listed in a tenant's delegation")
    os2 = repo.package("os-main", "os", "1.3.0", 4, OS_UUID, repo.plat)
    repo.refused(repo.repo("add-target", "--dir", repo.d, "--trust", repo.plat_pub, "--tenant",
                           "acme", "--key", repo.acme, os2, check=False),
                 "is an OS image: only the platform targets list OS images")
    # the signer of targets must be a key of the role
    repo.refused(repo.repo("sign", "--dir", repo.d, "--role", "targets", "--key",
                           repo.keys / "timestamp.pem", repo.md / "targets.json", check=False),
                 "is not a key of role 'targets'")


def test_targets_signed_by_unknown_key_refused(repo):
    # an attacker's own repository lists a malicious OS image...
    evil = Repo(repo.r, repo.tmp / "evil")
    evil.tmp.mkdir()
    evil.repo("init", "--dir", evil.d)
    ek, ek_pub = evil.keypair("evil-images")
    bad = evil.package("os-main", "os", "6.6.6", 99, OS_UUID, ek)
    evil.repo("add-target", "--dir", evil.d, "--trust", ek_pub, bad)
    evil.repo("delegate", "--dir", evil.d, "--tenant", "acme", "--key", repo.acme_pub,
              "--component", APP_UUID)
    # ...and serves its targets in place of ours, with fresh online metadata
    shutil.copy(evil.md / "targets.json", repo.md / "targets.json")
    repo.repo("publish", "--dir", repo.d)
    repo.refused(repo.verify(check=False),
                 "targets: 0 valid signature(s) from distinct trusted keys, the threshold is 1 "
                 "(0 duplicate, 1 from keys not trusted for this role, 0 invalid)")


def test_app_entry_signed_by_unknown_key_refused(repo):
    acme = payload(repo.md / "acme.json")
    acme["version"] += 1
    stranger, _ = repo.keypair("stranger")
    (repo.md / "acme.json").write_bytes(sign_env(dump(acme), [stranger]))
    repo.repo("publish", "--dir", repo.d)
    repo.refused(repo.verify(check=False),
                 "delegated targets 'acme': 0 valid signature(s) from distinct trusted keys")


def test_targets_signed_by_online_key_only_refused(repo):
    t = payload(repo.md / "targets.json")
    t["version"] += 1
    online = [repo.keys / "snapshot.pem", repo.keys / "timestamp.pem", repo.keys / "director.pem"]
    (repo.md / "targets.json").write_bytes(sign_env(dump(t), online))
    repo.repo("publish", "--dir", repo.d)
    repo.refused(repo.verify(check=False),
                 "targets: 0 valid signature(s) from distinct trusted keys, the threshold is 1 "
                 "(0 duplicate, 3 from keys not trusted for this role, 0 invalid)")


def test_director_hash_differs_from_targets_refused(repo):
    d = payload(repo.md / f"director-{UEID}.json")
    d["version"] += 1
    good = d["images"][0]["hashes"]["sha256"]
    d["images"][0]["hashes"]["sha256"] = "ee" * 32
    (repo.md / f"director-{UEID}.json").write_bytes(sign_env(dump(d), [repo.keys / "director.pem"]))
    repo.refused(repo.verify(check=False),
                 f"image '{OS_T}': director sha256 eeeeeeeeeeeeeeee... differs "
                 f"from platform targets sha256 {good[:16]}...")
    # the same with a length that differs
    d["images"][0]["hashes"]["sha256"] = good
    d["images"][0]["length"] += 1
    d["version"] += 1
    (repo.md / f"director-{UEID}.json").write_bytes(sign_env(dump(d), [repo.keys / "director.pem"]))
    repo.refused(repo.verify(check=False), "director length")


def test_replayed_older_metadata_refused(repo):
    old = repo.snapshot_files("old")
    os2 = repo.package("os-main", "os", "1.3.0", 4, OS_UUID, repo.plat)
    repo.repo("add-target", "--dir", repo.d, "--trust", repo.plat_pub, os2)
    repo.repo("publish", "--dir", repo.d)
    repo.repo("assign", "--dir", repo.d, "--ueid", UEID, OS2_T)
    out = repo.verify()
    assert "verified: root 1, timestamp 2, snapshot 2, targets 4, director 2" in out.stdout
    assert f"install os {OS2_T}" in out.stdout

    # replayed timestamp
    repo.refused(repo.verify("--timestamp", old / "timestamp.json", check=False),
                 "timestamp version 1 is older than the trusted version 2 (rollback refused)")
    # replayed snapshot under a freshly signed timestamp naming it
    ts = payload(repo.md / "timestamp.json")
    snap_bytes = (old / "snapshot.json").read_bytes()
    ts["version"] = 3
    ts["meta"]["snapshot.json"] = {"version": 1, "length": len(snap_bytes),
                                   "hashes": {"sha256": hashlib.sha256(snap_bytes).hexdigest()}}
    forged_ts = repo.tmp / "ts-old-snapshot.json"
    forged_ts.write_bytes(sign_env(dump(ts), [repo.keys / "timestamp.pem"]))
    repo.refused(repo.verify("--timestamp", forged_ts, "--snapshot", old / "snapshot.json",
                             check=False),
                 "timestamp names snapshot version 1, older than the trusted version 2")
    # replayed targets: a fresh snapshot listing the old targets version
    sn = payload(repo.md / "snapshot.json")
    sn["version"] = 3
    sn["meta"]["targets.json"]["version"] = 3
    sbytes = sign_env(dump(sn), [repo.keys / "snapshot.pem"])
    (repo.tmp / "sn3.json").write_bytes(sbytes)
    ts["version"] = 4
    ts["meta"]["snapshot.json"] = {"version": 3, "length": len(sbytes),
                                   "hashes": {"sha256": hashlib.sha256(sbytes).hexdigest()}}
    (repo.tmp / "ts4.json").write_bytes(sign_env(dump(ts), [repo.keys / "timestamp.pem"]))
    repo.refused(repo.verify("--timestamp", repo.tmp / "ts4.json", "--snapshot",
                             repo.tmp / "sn3.json", "--targets", old / "targets.json",
                             check=False),
                 "snapshot version 3 lists 'targets.json' version 3, older than the trusted "
                 "version 4 (rollback refused)")
    # replayed director assignment
    repo.repo("publish", "--dir", repo.d)
    repo.refused(repo.verify("--director", old / f"director-{UEID}.json", check=False),
                 "director assignment version 1 is older than the trusted version 2")
    # the current metadata still verifies
    assert f"install os {OS2_T}" in repo.verify().stdout


def test_expired_timestamp_refused(repo):
    repo.refused(repo.verify("--now", later(25), check=False), "timestamp version 1 expired at")
    repo.repo("publish", "--dir", repo.d, "--expires-hours", "0")
    repo.refused(repo.verify(check=False), "timestamp version 2 expired at")


def test_expired_director_refused(repo):
    repo.repo("assign", "--dir", repo.d, "--ueid", UEID, "--expires-hours", "0",
              OS_T)
    repo.refused(repo.verify(check=False), "director assignment version 2 expired at")
    # an assignment valid for longer than a day is refused as well
    repo.repo("assign", "--dir", repo.d, "--ueid", UEID, "--expires-hours", "48",
              OS_T)
    repo.refused(repo.verify(check=False), "s from now; the limit is 86400 s")
    # and one for another device
    repo.repo("assign", "--dir", repo.d, "--ueid", "ffff", OS_T)
    repo.refused(repo.verify("--director", repo.md / "director-ffff.json", check=False),
                 f"director assignment is for device 'ffff', this device is '{UEID}'")


def test_mix_and_match_refused(repo):
    old = repo.snapshot_files("old")
    os2 = repo.package("os-main", "os", "1.3.0", 4, OS_UUID, repo.plat)
    repo.repo("add-target", "--dir", repo.d, "--trust", repo.plat_pub, os2)
    repo.repo("publish", "--dir", repo.d)
    # targets from snapshot 1 with snapshot 2
    repo.refused(repo.verify("--targets", old / "targets.json", check=False),
                 "targets version 3 does not match the version 4 listed by snapshot version 2")
    # snapshot 1 under timestamp 2
    repo.refused(repo.verify("--snapshot", old / "snapshot.json", check=False),
                 "does not match the timestamp's")


def test_root_rotation_walked_across_two_versions(repo):
    old_root_ids = payload(repo.md / "1.root.json")["roles"]["root"]["keyids"]
    out = repo.repo("rotate-root", "--dir", repo.d, "--new-keys", "3")
    assert "root version 2 is complete and now current" in out.stdout
    out = repo.repo("rotate-root", "--dir", repo.d, "--new-keys", "2", "--threshold", "2",
                    "--online-key", "timestamp=generate")
    assert "root version 3 is complete and now current" in out.stdout
    r3 = payload(repo.md / "3.root.json")
    assert not set(r3["roles"]["root"]["keyids"]) & set(old_root_ids)
    repo.repo("publish", "--dir", repo.d)
    # the device trusts root 1 and has seen timestamp 1: it walks 2 then 3
    out = repo.verify()
    assert "verified: root 3, timestamp 2" in out.stdout
    # a device still at root 1 given only root 3 is refused
    fresh = repo.tmp / "fresh-state.json"
    p = repo.repo("verify", "--dir", repo.d, "--ueid", UEID, "--state", fresh,
                  "--trusted-root", repo.md / "1.root.json", "--root", repo.md / "3.root.json",
                  check=False)
    repo.refused(p, "new root (checked with the keys of root version 1): 0 valid signature(s)")
    # and a rolled-back root is refused by a device at root 3
    repo.refused(repo.verify("--root", repo.md / "2.root.json", check=False),
                 "new root (checked with the keys of root version 3)")


def test_root_not_signed_by_old_threshold_refused(repo):
    old_ids = set(payload(repo.md / "1.root.json")["roles"]["root"]["keyids"])
    repo.repo("rotate-root", "--dir", repo.d, "--new-keys", "3")
    env = envelope(repo.md / "2.root.json")
    kept_old = [s for s in env["signatures"] if s["keyid"] in old_ids][:1]
    new = [s for s in env["signatures"] if s["keyid"] not in old_ids]
    assert len(kept_old) == 1 and len(new) == 3
    weak = repo.tmp / "2-weak.root.json"
    weak.write_bytes(dump(dict(env, signatures=kept_old + new)))
    repo.refused(repo.verify("--root", weak, check=False),
                 "new root (checked with the keys of root version 1): 1 valid signature(s) from "
                 "distinct trusted keys, the threshold is 2 (0 duplicate, 3 from keys not "
                 "trusted for this role, 0 invalid)")
    # the same old signature three times is still one
    dup = repo.tmp / "2-dup.root.json"
    dup.write_bytes(dump(dict(env, signatures=kept_old * 3 + new)))
    repo.refused(repo.verify("--root", dup, check=False),
                 "1 valid signature(s) from distinct trusted keys, the threshold is 2 (2 duplicate")
    # signed by the old threshold but not by its own
    mine = repo.tmp / "2-old-only.root.json"
    mine.write_bytes(dump(dict(env, signatures=[s for s in env["signatures"]
                                                if s["keyid"] in old_ids])))
    repo.refused(repo.verify("--root", mine, check=False),
                 "root version 2 (checked with its own keys): 0 valid signature(s)")
    # the intact one is accepted
    assert "verified: root 2" in repo.verify("--root", repo.md / "2.root.json").stdout


def test_sign_completes_a_root_signed_by_several_holders(repo):
    # root keys of version 1 held apart: rotate-root finds only one of them
    ids = payload(repo.md / "root.json")["roles"]["root"]["keyids"]
    away = repo.tmp / "away"
    away.mkdir()
    for i in ids[1:]:
        shutil.move(repo.keys / f"root-{i[:16]}.pem", away / f"root-{i[:16]}.pem")
    out = repo.repo("rotate-root", "--dir", repo.d)
    assert "root version 2 needs more signatures" in out.stdout
    assert payload(repo.md / "root.json")["version"] == 1
    out = repo.repo("sign", "--dir", repo.d, "--role", "root", "--key",
                    away / f"root-{ids[1][:16]}.pem", repo.md / "2.root.json")
    assert "root version 2 is complete and now current" in out.stdout
    assert payload(repo.md / "root.json")["version"] == 2
    assert "verified: root 2" in repo.verify().stdout


def test_tenant_delegation_used_for_another_tenant_refused(repo):
    globex, globex_pub = repo.keypair("globex")
    repo.repo("delegate", "--dir", repo.d, "--tenant", "globex", "--key", globex_pub,
              "--component", GLOBEX_UUID)
    meter = repo.package("meter", "app", "1.0", 1, GLOBEX_UUID, globex)
    # the tool refuses to put globex's component under acme
    p = repo.repo("add-target", "--dir", repo.d, "--trust", globex_pub, "--tenant", "acme",
                  "--key", repo.acme, meter, check=False)
    repo.refused(p, f"target 'acme/{GLOBEX_UUID}/1.0' is outside tenant 'acme''s paths")
    # acme signs metadata naming globex's component anyway, under either
    # tenant's name; a device refuses both
    original = payload(repo.md / "acme.json")
    for n, owner in enumerate(("acme", "globex")):
        acme = json.loads(json.dumps(original))
        acme["version"] += 1 + n
        entry = json.loads(json.dumps(acme["targets"][APP_T]))
        entry["custom"]["component_id"] = GLOBEX_UUID
        acme["targets"][f"{owner}/{GLOBEX_UUID}/2.0"] = entry
        (repo.md / "acme.json").write_bytes(sign_env(dump(acme), [repo.acme]))
        repo.repo("publish", "--dir", repo.d)
        repo.refused(repo.verify(check=False),
                     f"delegated targets 'acme' lists '{owner}/{GLOBEX_UUID}/2.0', outside its "
                     f"delegated paths ('acme/{APP_UUID}/*')")
    # acme's key cannot sign globex's delegated metadata either
    acme["version"] = 1
    (repo.md / "globex.json").write_bytes(sign_env(dump(acme | {"targets": {}}), [repo.acme]))
    repo.refused(repo.verify("--delegated", f"globex={repo.md / 'globex.json'}", check=False),
                 "delegated targets 'globex': 0 valid signature(s)")


def test_oversized_metadata_refused(repo):
    ts = repo.md / "timestamp.json"
    data = ts.read_bytes()
    big = repo.tmp / "big-timestamp.json"
    big.write_bytes(data + b" " * (16385 - len(data)))
    repo.refused(repo.verify("--timestamp", big, check=False),
                 "timestamp: 16385 bytes, the limit is 16384")
    bigger = repo.tmp / "bigger-timestamp.json"
    bigger.write_bytes(data + b" " * 100000)
    repo.refused(repo.verify("--timestamp", bigger, check=False),
                 "is larger than the limit of 16385 bytes")
    d = repo.md / f"director-{UEID}.json"
    bigd = repo.tmp / "big-director.json"
    bigd.write_bytes(d.read_bytes() + b" " * (65537 - d.stat().st_size))
    repo.refused(repo.verify("--director", bigd, check=False),
                 "director assignment: 65537 bytes, the limit is 65536")


def test_unknown_fields_refused(repo):
    ids = payload(repo.md / "root.json")["roles"]["root"]["keyids"]
    root_keys = [repo.keys / f"root-{i[:16]}.pem" for i in ids]
    r2 = payload(repo.md / "root.json")
    r2["version"] = 2
    for where, edit, msg in [
        ("top", lambda r: r.update(extra=True), "root: unknown field 'extra'"),
        ("role", lambda r: r["roles"]["root"].update(terminating=True),
         "root: role 'root': unknown field 'terminating'"),
        ("type", lambda r: r.update(version="2"), "root: field 'version' is not an integer"),
        ("real", lambda r: r.update(version=2.0), "root: field 'version' is not an integer"),
    ]:
        doc = json.loads(json.dumps(r2))
        edit(doc)
        f = repo.tmp / f"root-{where}.json"
        f.write_bytes(sign_env(dump(doc), root_keys))
        repo.refused(repo.verify("--root", f, check=False), msg)
    # an unknown field in the envelope itself
    env = envelope(repo.md / "timestamp.json")
    env["comment"] = "hello"
    f = repo.tmp / "ts-extra.json"
    f.write_bytes(dump(env))
    repo.refused(repo.verify("--timestamp", f, check=False), "unknown field 'comment'")
    # and in a director image, correctly signed
    d = payload(repo.md / f"director-{UEID}.json")
    d["version"] += 1
    d["images"][0]["url"] = "http://example.invalid/x"
    f = repo.tmp / "director-extra.json"
    f.write_bytes(sign_env(dump(d), [repo.keys / "director.pem"]))
    repo.refused(repo.verify("--director", f, check=False),
                 "director: image 0: unknown field 'url'")


def test_device_state_rejects_a_tampered_file(repo):
    st = json.loads(repo.state.read_text())
    st["timestamp"] = 0
    st["snapshot"] = "1"
    repo.state.write_text(json.dumps(st))
    repo.refused(repo.verify(check=False), "client state: field 'snapshot' is not an integer")

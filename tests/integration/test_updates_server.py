"""The update service end to end against a real rampart-server: the platform
operator's offline repository (`rampart repo`) uploaded and verified, image
uploads by tenants and the platform, deployments, the director check-in
over mTLS with device certificates from real attestation, and image
download with Range. Every refusal is checked to leave the store (and the
blob directory) exactly as it was; the director output is verified with
`rampart repo verify`, the client library a device runs."""
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
import requests

from conftest import binary, run
from entity_fixture import Factory, add_manufacturer, group_named, import_records, make_product
from server_fixture import Server

PAYLOAD_TYPE = b"application/vnd.rampart.tuf+json"
OS_UUID = "11111111-2222-3333-4444-555555555555"
APP_UUID = "66666666-2222-3333-4444-555555555555"
GLOBEX_UUID = "77777777-2222-3333-4444-555555555555"
OS_RELEASES = {"1.0.0": 1}


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def dump(o) -> bytes:
    return json.dumps(o, sort_keys=True, separators=(",", ":")).encode()


def key_id(pem) -> str:
    pub = pathlib.Path(pem).name.endswith(".pub.pem")
    der = subprocess.run(["openssl", "pkey", *(["-pubin"] if pub else []), "-in", str(pem),
                          "-pubout", "-outform", "DER"], capture_output=True, check=True).stdout
    return hashlib.sha256(der).hexdigest()


def pub_der_b64u(pem) -> str:
    pub = pathlib.Path(pem).name.endswith(".pub.pem")
    der = subprocess.run(["openssl", "pkey", *(["-pubin"] if pub else []), "-in", str(pem),
                          "-pubout", "-outform", "DER"], capture_output=True, check=True).stdout
    return b64u(der)


def raw_sig(der: bytes) -> bytes:
    assert der[0] == 0x30
    i, out = 2, b""
    for _ in range(2):
        assert der[i] == 0x02
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


def payload(data: bytes) -> dict:
    return json.loads(unb64u(json.loads(data)["payload"]))


def later(hours: float) -> str:
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=hours)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class World:
    """One server; the platform operator's repository D; tenants acme (A)
    and globex (B), each with a product, a bound delegated role and a
    logged-in CLI; one OS image and one acme app image uploaded."""

    def __init__(self, tmp: pathlib.Path):
        self.tmp = tmp
        self.srv = Server(tmp / "data", ["--rate-limit", "0"]).start()
        self.f = Factory(tmp / "factory")
        add_manufacturer(self.srv, self.f)
        for v, svn in OS_RELEASES.items():
            r = self.srv.api("POST", "/api/v1/os-releases", self.srv.bootstrap_token,
                             json={"name": "rampart-os", "version": v, "svn": svn,
                                   "sha256": hashlib.sha256(f"rampart-os-{v}".encode()).hexdigest()})
            assert r.status_code in (201, 409), r.text
        self.cfg = {"platform": tmp / "cfg-platform.json"}
        self.login("platform", self.srv.bootstrap_token)
        self.t = {}
        for name in ("acme", "globex"):
            tid, admin = self.srv.create_tenant(f"{name}-{os.urandom(3).hex()}")
            self.t[name] = {"id": tid, "admin": admin, "product": make_product(self.srv, admin)}
            self.cfg[name] = tmp / f"cfg-{name}.json"
            self.login(name, admin)
        self.k = 0
        # the platform operator's offline repository, naming the server's keys
        self.d = tmp / "repo"
        self.md = self.d / "metadata"
        self.cli("platform", "repo", "server-keys", "--out", tmp / "server-keys")
        self.extra_snapshot, self.extra_snapshot_pub = self.keypair("extra-snapshot")
        args = []
        for role in ("snapshot", "timestamp", "director"):
            args += ["--online-key", f"{role}={tmp / 'server-keys' / (role + '.pub.pem')}"]
        run([binary("rampart"), "repo", "init", "--dir", self.d, *args])
        self.targets_key = self.d / "keys" / "targets.pem"
        self.targets_pub = tmp / "targets.pub.pem"
        self.targets_pub.write_bytes(subprocess.run(
            ["openssl", "pkey", "-in", str(self.targets_key), "-pubout"], capture_output=True,
            check=True).stdout)
        self.root_keys = sorted((self.d / "keys").glob("root-*.pem"))
        # root version 1 as init wrote it, plus one more snapshot key held
        # here: the stand-in for a compromised online key
        root = payload((self.md / "root.json").read_bytes())
        kid = key_id(self.extra_snapshot_pub)
        root["keys"][kid] = {"keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256",
                             "public": pub_der_b64u(self.extra_snapshot_pub)}
        root["roles"]["snapshot"]["keyids"].append(kid)
        env = sign_env(dump(root), self.root_keys)
        (self.md / "root.json").write_bytes(env)
        (self.md / "1.root.json").write_bytes(env)
        self.root1 = self.md / "1.root.json"
        # delegations, bound to the tenants
        self.acme, self.acme_pub = self.keypair("acme")
        self.globex, self.globex_pub = self.keypair("globex")
        self.repo("delegate", "--dir", self.d, "--tenant", "acme", "--key", self.acme_pub,
                  "--component", APP_UUID)
        self.repo("delegate", "--dir", self.d, "--tenant", "globex", "--key", self.globex_pub,
                  "--component", GLOBEX_UUID)
        self.cli("platform", "repo", "bind", "acme", self.t["acme"]["id"])
        self.cli("platform", "repo", "bind", "globex", self.t["globex"]["id"])
        self.cli("platform", "repo", "upload", "root", self.root1)
        # the OS image, signed by the platform targets key
        self.os_img = self.package("rampart-os", "os", "1.0.0", 1, OS_UUID, self.targets_key)
        self.repo("add-target", "--dir", self.d, "--trust", self.targets_pub, self.os_img)
        self.cli("platform", "image", "upload", self.os_img, "--targets", self.md / "targets.json")
        # acme's app image, signed by acme's delegated key
        self.app_img = self.package("sensor", "app", "2.0", 1, APP_UUID, self.acme)
        self.repo("add-target", "--dir", self.d, "--trust", self.acme_pub, "--tenant", "acme",
                  "--key", self.acme, self.app_img)
        self.cli("acme", "image", "upload", self.app_img, "--targets", self.md / "acme.json")
        imgs = self.srv.api("GET", "/api/v1/images", self.t["acme"]["admin"]).json()["items"]
        self.os_id = next(i["id"] for i in imgs if i["type"] == "os")
        self.app_id = next(i["id"] for i in imgs if i["type"] == "app")

    # ---- helpers ----
    def login(self, who, token):
        env = dict(os.environ, RAMPART_CONFIG=str(self.cfg[who]))
        run([binary("rampart"), "login", "--server", self.srv.url, "--token", token,
             "--fingerprint", self.srv.fingerprint], env=env)

    def cli(self, who, *args, check=True):
        env = dict(os.environ, RAMPART_CONFIG=str(self.cfg[who]))
        return run([binary("rampart"), *args], env=env, check=check)

    def repo(self, *args, check=True):
        return run([binary("rampart"), "repo", *args], check=check)

    def keypair(self, name):
        priv, pub = self.tmp / f"{name}.pem", self.tmp / f"{name}.pub.pem"
        run([binary("rampart"), "keys", "generate", "--out", priv, "--pub", pub])
        return priv, pub

    def package(self, name, typ, version, svn, uuid, key, tag="", size=0):
        src = self.tmp / f"src-{name}-{version}{tag}"
        src.mkdir(exist_ok=True)
        (src / "file").write_text(f"{name} {version} {tag}\n" + "x" * 5000)
        if size:
            (src / "blob").write_bytes(os.urandom(size))
        if typ == "app":
            (src / "bin").mkdir(exist_ok=True)
            entry = src / "bin" / name
            entry.write_text("#!/bin/sh\n")
            entry.chmod(0o755)
            (src / "app_manifest.json").write_text(json.dumps({
                "SchemaVersion": 1, "Name": name, "ComponentId": uuid,
                "EntryPoint": f"/bin/{name}", "Capabilities": {}}))
        out = self.tmp / f"{name}-{version}{tag}.img"
        run([binary("rampart"), "image", "pack", src, "--out", out, "--name", name, "--type",
             typ, "--version", version, "--svn", svn, "--component-id", uuid])
        run([binary("rampart"), "image", "sign", out, "--key", key])
        return out

    def state(self):
        """The store and the blob directory, to prove a refusal changed nothing."""
        blobs = self.srv.data_dir / "blobs"
        # (attestation nonces expire and are purged on their own clock)
        return (self.srv.db_dump(exclude=("audit", "attest_nonces")),
                sorted(p.name for p in blobs.iterdir()) if blobs.exists() else [])

    def enroll_body(self, dev_dir, tenant, *extra):
        r = self.srv.api("POST", f"/.well-known/est/{self.t[tenant]['id']}/nonce")
        assert r.status_code == 200, r.text
        self.k += 1
        body = self.tmp / f"enroll{self.k}.json"
        run([binary("rampart-attest-forge"), "--dir", dev_dir, "--nonce", r.json()["nonce"],
             "--out", body, "--purpose", "platform", *extra])
        return body

    def device(self, tenant="acme", group="Production"):
        rec = self.f.provision(1)[0]
        d = self.f.dir / f"dev{self.f.n}"
        assert import_records(self.srv, [rec]).status_code == 200
        t = self.t[tenant]
        r = self.srv.api("POST", "/api/v1/devices", t["admin"], json={
            "ueid": rec["ueid"], "group": group_named(t["product"], group)})
        assert r.status_code == 201, r.text
        # attest (emulated device through the real DICE derivation) for a certificate
        r = self.srv.api("POST", f"/.well-known/est/{t['id']}/nonce")
        assert r.status_code == 200, r.text
        self.k += 1
        body, key, crt = (self.tmp / f"enroll{self.k}.json", self.tmp / f"dev{self.k}.key",
                          self.tmp / f"dev{self.k}.crt")
        run([binary("rampart-attest-forge"), "--dir", d, "--nonce", r.json()["nonce"],
             "--os-version", "1.0.0", "--svn", "1", "--out", body, "--purpose", "platform",
             "--key-out", key])
        r = self.srv.session.post(self.srv.url + f"/.well-known/est/{t['id']}/simpleenroll",
                                  data=body.read_text(), verify=False, timeout=30,
                                  headers={"Content-Type": "application/json",
                                           "Accept": "application/x-pem-file"})
        assert r.status_code == 200, r.text
        crt.write_bytes(r.content)
        return {"ueid": rec["ueid"], "cert": (str(crt), str(key)), "tenant": tenant}

    def checkin(self, dev, body=None, cert="own"):
        if body is None:
            body = {"root_version": 1, "installed": []}
        c = dev["cert"] if cert == "own" else cert
        return requests.post(self.srv.url + "/device/v1/checkin", json=body, cert=c,
                             verify=False, timeout=30)

    def download(self, dev, sha, rng=None, cert="own"):
        c = dev["cert"] if cert == "own" else cert
        h = {"Range": rng} if rng else {}
        return requests.get(self.srv.url + f"/device/v1/images/{sha}", headers=h, cert=c,
                            verify=False, timeout=30)

    def deploy(self, tenant, group, *images):
        t = self.t[tenant]
        p = self.cli(tenant, "deployment", "create", "--group", group_named(t["product"], group),
                     "--image", *images, "--output", "json")
        return json.loads(p.stdout)["id"]

    def show(self, tenant, dep):
        return json.loads(self.cli(tenant, "deployment", "show", dep, "--output", "json").stdout)


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    world = World(tmp_path_factory.mktemp("updates"))
    yield world
    assert world.srv.stop() == 0


def sha(p: pathlib.Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


# ---- online keys and metadata ----

def test_online_keys_sealed_in_data_dir_and_stable(w):
    kd = w.srv.data_dir / "repo-keys"
    assert stat.S_IMODE(kd.stat().st_mode) == 0o700
    names = sorted(p.name for p in kd.iterdir())
    assert names == ["director.sealed", "snapshot.sealed", "timestamp.sealed"]
    for p in kd.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
        assert b"PRIVATE KEY" not in p.read_bytes()
    keys = w.srv.api("GET", "/api/v1/repo/keys", w.srv.bootstrap_token).json()
    assert keys["director"]["keyid"] == key_id(w.tmp / "server-keys" / "director.pub.pem")
    assert w.srv.api("GET", "/api/v1/repo/keys").status_code == 401


def test_server_signs_snapshot_and_timestamp_over_uploaded_targets(w):
    get = lambda f: w.srv.api("GET", f"/api/v1/repo/metadata/{f}", w.srv.bootstrap_token)
    ts, snap, tg = get("timestamp.json"), get("snapshot.json"), get("targets.json")
    assert ts.status_code == snap.status_code == tg.status_code == 200
    t, s = payload(ts.content), payload(snap.content)
    assert t["meta"]["snapshot.json"]["length"] == len(snap.content)
    assert t["meta"]["snapshot.json"]["hashes"]["sha256"] == hashlib.sha256(snap.content).hexdigest()
    assert s["meta"]["targets.json"]["version"] == payload(tg.content)["version"]
    assert s["meta"]["acme.json"]["version"] == payload((w.md / "acme.json").read_bytes())["version"]
    # the timestamp expires within a day
    exp = datetime.datetime.strptime(t["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    assert exp - datetime.datetime.now(datetime.timezone.utc) <= datetime.timedelta(days=1)
    # a tenant reads its own delegated file, not another tenant's
    assert w.srv.api("GET", "/api/v1/repo/metadata/acme.json", w.t["acme"]["admin"]).status_code == 200
    assert w.srv.api("GET", "/api/v1/repo/metadata/acme.json", w.t["globex"]["admin"]).status_code == 404


def test_root_uploads_chain_and_never_go_back(w, tmp_path):
    before = w.state()
    # replaying root 1 again is accepted by nobody: same version already stored
    r = w.srv.api("POST", "/api/v1/repo/root", w.srv.bootstrap_token, data=w.root1.read_bytes(),
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "rollback", r.text
    # a root 2 signed only by keys of another repository
    other = tmp_path / "other"
    run([binary("rampart"), "repo", "init", "--dir", other])
    p = payload(w.root1.read_bytes())
    p["version"] = 2
    forged = sign_env(dump(p), sorted((other / "keys").glob("root-*.pem")))
    r = w.srv.api("POST", "/api/v1/repo/root", w.srv.bootstrap_token, data=forged,
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 403, r.text
    # a root 2 whose director role drops the server's key
    p2 = json.loads(json.dumps(p))
    p2["roles"]["director"]["keyids"] = p2["roles"]["snapshot"]["keyids"][-1:]
    r = w.srv.api("POST", "/api/v1/repo/root", w.srv.bootstrap_token,
                  data=sign_env(dump(p2), w.root_keys), headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "director role must list this server's director key" in r.text
    # a tenant may not upload roots
    r = w.srv.api("POST", "/api/v1/repo/root", w.t["acme"]["admin"], data=w.root1.read_bytes(),
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 403
    assert w.state() == before


def test_targets_signed_by_an_online_key_only_refused(w):
    before = w.state()
    p = payload((w.md / "targets.json").read_bytes())
    p["version"] += 10
    env = sign_env(dump(p), [w.extra_snapshot])
    r = w.srv.api("POST", "/api/v1/repo/targets", w.srv.bootstrap_token, data=env,
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 403, r.text
    assert "threshold is 1" in r.json()["error"]["message"]
    # the same document as an OS image's targets at upload
    b = {"targets": env.decode(), "package": b64u(w.os_img.read_bytes())}
    r = w.srv.api("POST", "/api/v1/os-images", w.srv.bootstrap_token, json=b)
    assert r.status_code == 403, r.text
    assert w.state() == before


def test_replayed_older_targets_and_delegated_refused(w, tmp_path):
    old_targets = (w.md / "targets.json").read_bytes()
    old_acme = (w.md / "acme.json").read_bytes()
    # a new app release moves acme.json forward, with its upload
    img = w.package("sensor", "app", "2.1", 2, APP_UUID, w.acme)
    w.repo("add-target", "--dir", w.d, "--trust", w.acme_pub, "--tenant", "acme", "--key", w.acme,
           img)
    w.cli("acme", "image", "upload", img, "--targets", w.md / "acme.json")
    # platform targets move forward too (re-signed, version +1)
    w.repo("sign", "--dir", w.d, "--role", "targets", "--key", w.targets_key, w.md / "targets.json")
    p = payload(old_targets)
    p["version"] += 1
    newer = sign_env(dump(p), [w.targets_key])
    f = w.md / "targets.json"          # the repository continues from it
    f.write_bytes(newer)
    assert "stored" in w.cli("platform", "repo", "upload", "targets", f).stdout
    before = w.state()
    for who, kind, data in (("platform", "targets", old_targets), ("acme", "delegated", old_acme)):
        f = tmp_path / f"replay-{kind}.json"
        f.write_bytes(data)
        p = w.cli(who, "repo", "upload", kind, f, check=False)
        assert p.returncode == 1 and "409 rollback" in p.stderr and "rollback refused" in p.stderr, p.stderr
    # the same version with other content is no replay of the stored one either
    p = payload(newer)
    p["expires"] = later(24 * 30)
    f = tmp_path / "targets-same-version.json"
    f.write_bytes(sign_env(dump(p), [w.targets_key]))
    r = w.cli("platform", "repo", "upload", "targets", f, check=False)
    assert r.returncode == 1 and "different content" in r.stderr
    assert w.state() == before


# ---- image upload attacks ----

def upload_refused(w, who, img, targets, text, route=None):
    before = w.state()
    p = w.cli(who, "image", "upload", img, "--targets", targets, check=False)
    assert p.returncode == 1, p.stdout + p.stderr
    assert text in p.stderr, p.stderr
    assert w.state() == before
    return p


def test_image_signed_by_unknown_key_refused(w, tmp_path):
    stranger, stranger_pub = w.keypair("stranger")
    img = w.package("sensor", "app", "3.0", 3, APP_UUID, stranger)
    # listed by acme's real delegated key (the tooling trusts the stranger
    # for the listing), but the package itself is not signed by that key
    d = tmp_path / "repo-copy"
    shutil.copytree(w.d, d)
    run([binary("rampart"), "repo", "add-target", "--dir", d, "--trust", stranger_pub, "--tenant",
         "acme", "--key", w.acme, img])
    upload_refused(w, "acme", img, d / "metadata" / "acme.json", "package refused")


def test_targets_entry_hash_differs_from_package_refused(w, tmp_path):
    a = w.package("sensor", "app", "4.0", 4, APP_UUID, w.acme, tag="a")
    b = w.package("sensor", "app", "4.0", 4, APP_UUID, w.acme, tag="b")
    d = tmp_path / "repo-copy"
    shutil.copytree(w.d, d)
    run([binary("rampart"), "repo", "add-target", "--dir", d, "--trust", w.acme_pub, "--tenant",
         "acme", "--key", w.acme, a])
    p = upload_refused(w, "acme", b, d / "metadata" / "acme.json", "differs from the package's")
    assert f"acme/{APP_UUID}/4.0" in p.stderr and "sha256" in p.stderr


def test_os_image_uploaded_by_tenant_refused(w, tmp_path):
    # an OS package the tenant signed itself, with its own delegated targets,
    # on the tenant's route (the CLI would not even pick it)
    img = w.package("rampart-os", "os", "9.0.0", 9, OS_UUID, w.acme, tag="evil")
    before = w.state()
    r = w.srv.api("POST", "/api/v1/images", w.t["acme"]["admin"],
                  json={"targets": (w.md / "acme.json").read_text(),
                        "package": b64u(img.read_bytes())})
    assert r.status_code == 403 and "OS images are published by the platform" in r.text, r.text
    assert w.state() == before
    upload_refused(w, "acme", img, w.md / "acme.json", "for the platform operator")
    # the platform's real OS package with the platform targets: not the tenant's keys
    upload_refused(w, "acme", w.os_img, w.md / "targets.json", "403")


def test_app_of_another_tenants_component_refused(w, tmp_path):
    # globex signs a package of acme's component and lists it in its own
    # delegated targets: outside globex's delegated paths
    img = w.package("sensor", "app", "5.0", 5, APP_UUID, w.globex, tag="globex")
    digest = hashlib.sha256(img.read_bytes()).hexdigest()
    name = f"globex/{APP_UUID}/5.0"
    doc = {"_type": "targets", "spec_version": "1.0", "version": 1, "expires": later(24 * 30),
           "targets": {name: {"length": img.stat().st_size, "hashes": {"sha256": digest},
                              "custom": {"component_id": APP_UUID, "type": "app",
                                         "version": "5.0", "svn": 5}}}}
    f = tmp_path / "globex.json"
    f.write_bytes(sign_env(dump(doc), [w.globex]))
    upload_refused(w, "globex", img, f, "outside its delegated paths")
    # and globex cannot pass off acme's own package and listing as its own
    upload_refused(w, "globex", w.app_img, w.md / "acme.json", "403")


# ---- deployments and the director ----

def verify_as_device(w, dev, reply, tmp):
    """Runs the device's checks (rampart repo verify) over a check-in reply."""
    files = []
    for i, r in enumerate(reply["roots"]):
        f = tmp / f"root{i}.json"
        f.write_text(r)
        files += ["--root", f]
    for role in ("timestamp", "snapshot", "targets", "director"):
        f = tmp / f"{role}.json"
        f.write_text(reply[role])
        files += [f"--{role}", f]
    for role, env in reply["delegated"].items():
        f = tmp / f"deleg-{role}.json"
        f.write_text(env)
        files += ["--delegated", f"{role}={f}"]
    return run([binary("rampart"), "repo", "verify", "--ueid", dev["ueid"], "--trusted-root",
                w.root1, *files], check=False)


def test_director_assignment_verifies_as_a_device_and_status_flows(w, tmp_path):
    dev = w.device("acme", "Production")
    dep = w.deploy("acme", "Production", w.os_id, w.app_id)
    r = w.checkin(dev)
    assert r.status_code == 200, r.text
    j = r.json()
    dm = payload(j["director"].encode())
    assert dm["ueid"] == dev["ueid"]
    assert sorted(i["type"] for i in dm["images"]) == ["app", "os"]
    exp = datetime.datetime.strptime(dm["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    assert exp - datetime.datetime.now(datetime.timezone.utc) <= datetime.timedelta(hours=24)
    out = verify_as_device(w, dev, j, tmp_path)
    assert out.returncode == 0, out.stderr
    installs = [l for l in out.stdout.splitlines() if l.startswith("install ")]
    assert len(installs) == 2
    assert any(sha(w.os_img) in l for l in installs) and any(sha(w.app_img) in l for l in installs)
    # a tampered director (one byte of its payload) is refused by the device
    bad = json.loads(j["director"])
    p = json.loads(unb64u(bad["payload"]))
    p["images"][0]["length"] += 1
    bad["payload"] = b64u(dump(p))
    j2 = dict(j, director=json.dumps(bad))
    t2 = tmp_path / "tampered"
    t2.mkdir()
    out = verify_as_device(w, dev, j2, t2)
    assert out.returncode == 1 and "director" in out.stderr
    # every check-in signs a newer director version
    assert payload(w.checkin(dev).json()["director"].encode())["version"] > dm["version"]

    # per-device status: pending, then what the device reports
    row = lambda: next(d for d in w.show("acme", dep)["devices"] if d["ueid"] == dev["ueid"])
    assert row()["status"] == "pending"
    body = {"root_version": 1, "installed": [],
            "reports": [{"sha256": sha(w.os_img), "status": "downloading"}]}
    assert w.checkin(dev, body).status_code == 200
    assert row()["status"] == "downloading"
    body["reports"] = [{"sha256": sha(w.os_img), "status": "reverted",
                        "reason": "trial boot failed 3 times: attestation os_not_released"},
                       {"sha256": "ab" * 32, "status": "failed"}]
    r = w.checkin(dev, body)
    assert r.status_code == 200 and r.json()["ignored_reports"] == 1
    got = row()
    assert got["status"] == "reverted" and "os_not_released" in got["reason"]
    # both installed (reported by what runs now)
    body = {"root_version": 1, "installed": [
        {"component_id": OS_UUID, "type": "os", "version": "1.0.0", "svn": 1},
        {"component_id": APP_UUID, "type": "app", "version": "2.0", "svn": 1}]}
    assert w.checkin(dev, body).status_code == 200
    assert row()["status"] == "installed"
    table = w.cli("acme", "deployment", "show", dep).stdout
    assert dev["ueid"] in table and "installed" in table
    assert dep in w.cli("acme", "deployment", "list").stdout


def test_update_policies_and_development_mode(w):
    # Development: devices in development mode get no app updates
    dev = w.device("acme", "Development")
    w.deploy("acme", "Development", w.os_id, w.app_id)
    dm = payload(w.checkin(dev).json()["director"].encode())
    assert [i["type"] for i in dm["images"]] == ["os"]
    # no-updates: nothing; no-app-updates: the OS only
    g = group_named(w.t["acme"]["product"], "Field Test")
    dev2 = w.device("acme", "Field Test")
    dep = w.deploy("acme", "Field Test", w.os_id, w.app_id)
    for policy, want in (("no-updates", []), ("no-app-updates", ["os"]),
                         ("update-all", ["app", "os"])):
        r = w.srv.api("PATCH", f"/api/v1/device-groups/{g}", w.t["acme"]["admin"],
                      json={"update_policy": policy})
        assert r.status_code == 200, r.text
        dm = payload(w.checkin(dev2).json()["director"].encode())
        assert sorted(i["type"] for i in dm["images"]) == want, policy
        if policy == "no-updates":
            # nothing to download either, and the deployment says why
            assert w.download(dev2, sha(w.os_img)).status_code == 404
            row = next(d for d in w.show("acme", dep)["devices"] if d["ueid"] == dev2["ueid"])
            assert row["status"] == "excluded" and row["reason"] == "no-updates"


def test_checkin_identity_comes_from_the_certificate(w, tmp_path):
    a = w.device("acme", "Production")
    b = w.device("globex", "Production")
    # no client certificate
    r = requests.post(w.srv.url + "/device/v1/checkin", json={"root_version": 1, "installed": []},
                      verify=False, timeout=30)
    assert r.status_code == 401
    # a self-made certificate naming acme's device
    k, c = tmp_path / "self.key", tmp_path / "self.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", k, "-out", c, "-days", "1",
                    "-subj", f"/CN={a['ueid']}"], check=True, capture_output=True)
    r = w.checkin(a, cert=(str(c), str(k)))
    assert r.status_code == 403 and "was not issued" in r.text
    # globex's genuine device gets globex's (empty) assignment and cannot
    # download acme's images
    w.deploy("acme", "Production", w.os_id, w.app_id)
    r = w.checkin(b)
    assert r.status_code == 200
    assert payload(r.json()["director"].encode())["ueid"] == b["ueid"]
    assert payload(r.json()["director"].encode())["images"] == []
    assert "acme" not in r.json()["delegated"]
    assert w.download(b, sha(w.app_img)).status_code == 404
    # a blocked device is refused
    r = w.srv.api("POST", f"/api/v1/devices/{a['ueid']}/block", w.t["acme"]["admin"],
                  json={"reason": "stolen"})
    assert r.status_code in (200, 204), r.text
    r = w.checkin(a)
    assert r.status_code == 403 and "blocked" in r.text
    assert w.download(a, sha(w.app_img)).status_code == 403


def test_checkin_body_validation(w):
    dev = w.device("acme", "Production")
    for body, text in (({"installed": []}, "root_version"),
                       ({"root_version": 1, "installed": [], "extra": 1}, "extra"),
                       ({"root_version": 1, "installed": [{"component_id": OS_UUID}]}, "type"),
                       ({"root_version": 1, "installed": [],
                         "reports": [{"sha256": "zz", "status": "installed"}]}, "sha256"),
                       ({"root_version": 1, "installed": [],
                         "reports": [{"sha256": "ab" * 32, "status": "exploded"}]}, "status"),
                       ({"root_version": 99, "installed": []}, "root_version")):
        r = w.checkin(dev, body)
        assert r.status_code == 400 and text in r.text, (body, r.text)


# ---- image download ----

def test_range_download_resumes_byte_exact_and_bogus_ranges_refused(w):
    dev = w.device("acme", "Production")
    w.deploy("acme", "Production", w.os_id, w.app_id)
    data = w.os_img.read_bytes()
    n = len(data)
    digest = sha(w.os_img)
    full = w.download(dev, digest)
    assert full.status_code == 200 and full.content == data
    assert full.headers["Accept-Ranges"] == "bytes"
    # an interrupted download resumed from where it stopped
    cut = n // 3
    first = w.download(dev, digest, f"bytes=0-{cut - 1}")
    assert first.status_code == 206 and first.headers["Content-Range"] == f"bytes 0-{cut - 1}/{n}"
    rest = w.download(dev, digest, f"bytes={cut}-")
    assert rest.status_code == 206 and rest.headers["Content-Range"] == f"bytes {cut}-{n - 1}/{n}"
    assert first.content + rest.content == data
    tail = w.download(dev, digest, "bytes=-100")
    assert tail.status_code == 206 and tail.content == data[-100:]
    mid = w.download(dev, digest, f"bytes=10-{n + 500}")
    assert mid.status_code == 206 and mid.content == data[10:]
    for bogus in (f"bytes={n}-", f"bytes={n + 7}-{n + 9}", "bytes=9-3", "bytes=0-1,5-6",
                  "items=0-1", "bytes=abc", "bytes=-0", "bytes=-", "bytes=1-2-3"):
        r = w.download(dev, digest, bogus)
        assert r.status_code == 416, bogus
        assert r.headers["Content-Range"] == f"bytes */{n}", bogus
    # images not assigned to the device, and no certificate
    assert w.download(dev, "cd" * 32).status_code == 404
    r = requests.get(w.srv.url + f"/device/v1/images/{digest}", verify=False, timeout=30)
    assert r.status_code == 401


def test_deployment_validation(w):
    t = w.t["acme"]
    g = group_named(t["product"], "Production")
    reader = w.srv.create_token(t["admin"], "reader")["token"]
    before = w.state()
    for body, status in (({"group": g, "images": []}, 400),
                         ({"group": g, "images": ["img_" + "0" * 32]}, 404),
                         ({"group": g, "images": [w.os_id, w.os_id]}, 400),
                         ({"group": group_named(w.t["globex"]["product"], "Production"),
                           "images": [w.os_id]}, 404)):
        r = w.srv.api("POST", "/api/v1/deployments", t["admin"], json=body)
        assert r.status_code == status, (body, r.text)
    # globex cannot deploy acme's app image
    r = w.srv.api("POST", "/api/v1/deployments", w.t["globex"]["admin"],
                  json={"group": group_named(w.t["globex"]["product"], "Production"),
                        "images": [w.app_id]})
    assert r.status_code == 404
    r = w.srv.api("POST", "/api/v1/deployments", reader, json={"group": g, "images": [w.os_id]})
    assert r.status_code == 403
    assert w.state() == before


# ---- attestation reference values ----

def test_released_os_image_is_an_attestation_reference_value(w):
    """An OS image uploaded with the platform targets is a released OS for
    the verifier, with exactly its measurement; another measurement of the
    same name and version is not."""
    osi = next(i for i in w.srv.api("GET", "/api/v1/os-images", w.srv.bootstrap_token).json()["items"]
               if i["version"] == "1.0.0")
    assert osi["fwid"] != hashlib.sha256(b"rampart-os-1.0.0").hexdigest()
    t = w.t["acme"]
    rec = w.f.provision(1)[0]
    d = w.f.dir / f"dev{w.f.n}"
    assert import_records(w.srv, [rec]).status_code == 200
    r = w.srv.api("POST", "/api/v1/devices", t["admin"], json={
        "ueid": rec["ueid"], "group": group_named(t["product"], "Production")})
    assert r.status_code == 201, r.text
    post = lambda body: w.srv.session.post(
        w.srv.url + f"/.well-known/est/{t['id']}/simpleenroll", data=body.read_text(),
        verify=False, timeout=30, headers={"Content-Type": "application/json"})
    common = ("--os-name", "rampart-os", "--os-version", "1.0.0", "--svn", "1")
    r = post(w.enroll_body(d, "acme", *common, "--fwid", "ee" * 32))
    assert r.status_code == 403 and r.json()["error"]["code"] == "os_not_released", r.text
    r = post(w.enroll_body(d, "acme", *common, "--fwid", osi["fwid"]))
    assert r.status_code == 200, r.text


# ---- large packages: upload sessions ----

def test_large_os_image_uploads_in_pieces_and_downloads_byte_exact(w, tmp_path):
    img = w.package("rampart-os", "os", "1.1.0", 2, OS_UUID, w.targets_key, size=10 << 20)
    assert img.stat().st_size > 10 << 20
    w.repo("add-target", "--dir", w.d, "--trust", w.targets_pub, img)
    out = json.loads(w.cli("platform", "image", "upload", img, "--targets",
                           w.md / "targets.json", "--output", "json").stdout)
    assert out["sha256"] == sha(img) and out["length"] == img.stat().st_size
    # the session was consumed; the blob is the package
    assert not [p for p in (w.srv.data_dir / "uploads" / "platform").iterdir()]
    assert (w.srv.data_dir / "blobs" / sha(img)).read_bytes() == img.read_bytes()
    dev = w.device("acme", "Production")
    w.deploy("acme", "Production", out["id"], w.app_id)
    data = img.read_bytes()
    half = len(data) // 2
    a = w.download(dev, sha(img), f"bytes=0-{half - 1}")
    b = w.download(dev, sha(img), f"bytes={half}-")
    assert a.status_code == b.status_code == 206
    assert hashlib.sha256(a.content + b.content).hexdigest() == sha(img)


def test_upload_session_rules(w):
    t = w.t["acme"]
    r = w.srv.api("POST", "/api/v1/images/uploads", t["admin"])
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    piece = lambda off, data, tok=t["admin"], sess=sid: w.srv.api(
        "POST", f"/api/v1/images/uploads/{sess}", tok, json={"offset": off, "data": b64u(data)})
    assert piece(0, b"abc").json()["size"] == 3
    # a piece at the wrong offset is refused and says where to continue
    r = piece(0, b"xyz")
    assert r.status_code == 409 and "size 3" in r.text
    assert piece(3, b"def").json()["size"] == 6
    # another tenant cannot see the session, nor can the platform's route
    assert piece(6, b"g", tok=w.t["globex"]["admin"]).status_code == 404
    r = w.srv.api("POST", f"/api/v1/os-images/uploads/{sid}", w.srv.bootstrap_token,
                  json={"offset": 6, "data": b64u(b"g")})
    assert r.status_code == 404
    # finishing with garbage refuses it and consumes the session
    before = w.state()
    r = w.srv.api("POST", "/api/v1/images", t["admin"],
                  json={"targets": (w.md / "acme.json").read_text(), "upload": sid})
    assert r.status_code == 403 and "package refused" in r.text, r.text
    assert w.state() == before
    assert piece(6, b"g").status_code == 404
    r = w.srv.api("POST", "/api/v1/images", t["admin"],
                  json={"targets": (w.md / "acme.json").read_text(), "upload": sid,
                        "package": "AA"})
    assert r.status_code == 400 and "exactly one" in r.text


# ---- OS feeds and duplicates ----

def test_retail_eval_os_only_for_groups_on_that_feed(w):
    img = w.package("rampart-os", "os", "1.2.0-rc1", 3, OS_UUID, w.targets_key, tag="rc")
    w.repo("add-target", "--dir", w.d, "--trust", w.targets_pub, img)
    out = json.loads(w.cli("platform", "image", "upload", img, "--targets", w.md / "targets.json",
                           "--feed", "retail-eval", "--output", "json").stdout)
    assert out["feed"] == "retail-eval"
    t = w.t["acme"]
    g = group_named(t["product"], "Production")
    before = w.state()
    r = w.srv.api("POST", "/api/v1/deployments", t["admin"], json={"group": g, "images": [out["id"]]})
    assert r.status_code == 400 and "retail-eval" in r.text
    assert w.state() == before
    assert w.srv.api("PATCH", f"/api/v1/device-groups/{g}", t["admin"],
                     json={"os_feed": "retail-eval"}).status_code == 200
    r = w.srv.api("POST", "/api/v1/deployments", t["admin"], json={"group": g, "images": [out["id"]]})
    assert r.status_code == 201, r.text
    assert w.srv.api("PATCH", f"/api/v1/device-groups/{g}", t["admin"],
                     json={"os_feed": "retail"}).status_code == 200
    # the same package again: refused, nothing changes
    before = w.state()
    p = w.cli("platform", "image", "upload", img, "--targets", w.md / "targets.json", check=False)
    assert p.returncode == 1 and "409" in p.stderr and "uploaded already" in p.stderr
    assert w.state() == before


# ---- root rotation (last: it moves the repository to root 2) ----

def test_root_rotation_reaches_devices_in_order(w, tmp_path):
    dev = w.device("acme", "Production")
    w.deploy("acme", "Production", w.os_id, w.app_id)
    w.repo("rotate-root", "--dir", w.d, "--new-keys", "3", "--threshold", "2")
    r2 = w.md / "2.root.json"
    assert payload(r2.read_bytes())["version"] == 2
    assert "root version 2 stored" in w.cli("platform", "repo", "upload", "root", r2).stdout
    # root 1 again: it carries no signatures of root 2's keys
    before = w.state()
    p = w.cli("platform", "repo", "upload", "root", w.root1, check=False)
    assert p.returncode == 1 and "checked with the keys of root version 2" in p.stderr
    assert w.state() == before
    # a device on root 1 gets root 2 and walks it; the result verifies
    j = w.checkin(dev).json()
    assert len(j["roots"]) == 1 and payload(j["roots"][0].encode())["version"] == 2
    out = verify_as_device(w, dev, j, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "root 2" in out.stdout
    # a device already on root 2 gets no roots
    assert w.checkin(dev, {"root_version": 2, "installed": []}).json()["roots"] == []
    # the same files one at a time over mTLS
    get = lambda f: requests.get(w.srv.url + f"/device/v1/metadata/{f}", cert=dev["cert"],
                                 verify=False, timeout=30)
    assert get("2.root.json").content == r2.read_bytes() or \
        payload(get("2.root.json").content) == payload(r2.read_bytes())
    assert get("root.json").status_code == 200 and payload(get("root.json").content)["version"] == 2
    assert get("acme.json").status_code == 200
    assert get("globex.json").status_code == 404
    assert get("3.root.json").status_code == 404

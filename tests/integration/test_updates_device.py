"""The update agent end to end on emulated devices against a real
rampart-server: the platform operator's offline repository (`rampart repo`,
whose targets key is the platform key fused into the devices), OS images
built with `rampart-device make-os --tuf-root`, deployments made with the
CLI, and rampartd checking in over mTLS with the certificate it got from
attestation. An OS update lands in the inactive slot as a trial, the new OS
attests with its new measurement, and only then is the slot confirmed and
the anti-rollback floor raised; a release that cannot come up is reverted
after its boot attempts and the server shows `reverted` with the reason."""
import hashlib
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import binary, run
from entity_fixture import Factory, add_manufacturer, group_named, import_records, make_product
from server_fixture import Server

WAIT = 90
OS_UUID = "6f0e2a3c-3b1d-4c7e-9a55-0d7c1e9b2f10"    # make-os default
FAST = {"RAMPARTD_UPDATE_INTERVAL_MS": "700", "RAMPARTD_UPDATE_RETRY_MS": "300",
        "RAMPARTD_UPDATE_TRIAL_ATTEMPTS": "2", "RAMPARTD_BACKOFF_MIN_MS": "200",
        "RAMPARTD_BACKOFF_MAX_MS": "1000",
        # rampartd uploads queued failure events; after the attestation's
        # look at the queue it waits a day, so tests can read the queue
        "RAMPARTD_UPLOAD_POLL_S": "86400"}


def wait_for(pred, what, timeout=WAIT, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}\n" + (log()[-6000:] if log else ""))


def sha(p) -> str:
    return hashlib.sha256(pathlib.Path(p).read_bytes()).hexdigest()


class Device:
    """One emulated device directory and its `rampart-device run` process."""

    def __init__(self, path, log_path):
        self.dir = pathlib.Path(path)
        self.log_path = pathlib.Path(log_path)
        self.proc = None

    def start(self, env=None):
        assert self.proc is None
        e = dict(os.environ)
        e.pop("RP_FAULT", None)
        e.update(FAST)
        e.update(env or {})
        self._log = open(self.log_path, "a")
        self.proc = subprocess.Popen([binary("rampart-device"), "run", str(self.dir)],
                                     stdout=self._log, stderr=self._log, env=e,
                                     start_new_session=True)
        return self

    def wait_exit(self, timeout=WAIT):
        rc = self.proc.wait(timeout=timeout)
        self.proc = None
        self._log.close()
        return rc

    def stop(self):
        if not self.proc:
            return
        p, self.proc = self.proc, None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
        self._log.close()

    def kill9(self):
        """Power loss: SIGKILL to the device's whole process group."""
        p, self.proc = self.proc, None
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=30)
        self._log.close()

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _json(self, rel):
        try:
            return json.loads((self.dir / "data" / rel).read_text())
        except (OSError, ValueError):
            return None

    def status(self):
        return self._json("status.json")

    def updates(self):
        return self._json("updates/status.json")

    def agent(self):
        return self._json("updates/agent.json")

    def wait(self, pred, what, timeout=WAIT):
        return wait_for(lambda: pred(self), what, timeout, log=self.log)

    def info(self):
        return run([binary("rampart-device"), "info", self.dir]).stdout

    def floor(self):
        m = re.search(r"counter os: (\d+)", self.info())
        return int(m.group(1)) if m else 0

    def events(self):
        return (self.dir / "events").read_text()


class World:
    """A server, the platform repository (targets key = the fused platform
    key), a tenant with a product, and OS images 1.0.0 .. built to ship the
    repository's root."""

    def __init__(self, tmp: pathlib.Path):
        self.tmp = tmp
        self.srv = Server(tmp / "data", ["--rate-limit", "0"]).start()
        self.cfg = {"platform": tmp / "cfg-platform.json"}
        self.login("platform", self.srv.bootstrap_token)
        self.tid, self.admin = self.srv.create_tenant("acme-" + os.urandom(3).hex())
        self.cfg["acme"] = tmp / "cfg-acme.json"
        self.login("acme", self.admin)
        self.d = tmp / "repo"
        self.md = self.d / "metadata"
        self.cli("platform", "repo", "server-keys", "--out", tmp / "server-keys")
        args = []
        for role in ("snapshot", "timestamp", "director"):
            args += ["--online-key", f"{role}={tmp / 'server-keys' / (role + '.pub.pem')}"]
        run([binary("rampart"), "repo", "init", "--dir", self.d, *args])
        # the platform targets key signs OS images; rampart-boot trusts it by fuse
        fac = tmp / "factory"
        fac.mkdir()
        shutil.copy(self.d / "keys" / "targets.pem", fac / "platform.key")
        (fac / "platform.pub").write_bytes(subprocess.run(
            ["openssl", "pkey", "-in", str(fac / "platform.key"), "-pubout"],
            capture_output=True, check=True).stdout)
        self.fac = Factory(fac)
        add_manufacturer(self.srv, self.fac)
        self.cli("platform", "repo", "upload", "root", self.md / "1.root.json")
        self.os = {}
        self.n_dev = 0

    def login(self, who, token):
        env = dict(os.environ, RAMPART_CONFIG=str(self.cfg[who]))
        run([binary("rampart"), "login", "--server", self.srv.url, "--token", token,
             "--fingerprint", self.srv.fingerprint], env=env)

    def cli(self, who, *args, check=True):
        env = dict(os.environ, RAMPART_CONFIG=str(self.cfg[who]))
        return run([binary("rampart"), *args], env=env, check=check)

    def make_os(self, version, svn, rampartd=None, tag=""):
        out = self.tmp / f"os-{version}{tag}.pkg"
        args = [binary("rampart-device"), "make-os", "--out", out, "--version", version,
                "--svn", svn, "--key", self.fac.dir / "platform.key",
                "--tuf-root", self.md / "1.root.json"]
        if rampartd:
            args += ["--rampartd", rampartd]
        p = run(args)
        fwid = re.search(r"image digest \(fwid\): ([0-9a-f]{64})", p.stdout).group(1)
        return {"pkg": out, "fwid": fwid, "svn": svn, "version": version}

    def publish_os(self, img):
        """Lists the OS image in the platform targets and uploads both (which
        also releases its measurement for attestation); returns the image id."""
        run([binary("rampart"), "repo", "add-target", "--dir", self.d, "--trust",
             self.fac.plat_pub, img["pkg"]])
        self.cli("platform", "image", "upload", img["pkg"], "--targets", self.md / "targets.json")
        imgs = self.srv.api("GET", "/api/v1/images", self.admin).json()["items"]
        return next(i["id"] for i in imgs if i["sha256"] == sha(img["pkg"]))

    def release(self, img):
        r = self.srv.api("POST", "/api/v1/os-releases", self.srv.bootstrap_token,
                         json={"name": "rampart-os", "version": img["version"], "svn": img["svn"],
                               "sha256": img["fwid"]})
        assert r.status_code in (201, 409), r.text

    def device(self, base_os, group="Production", fill_b=False):
        """A claimed device in its own product's group with base_os in slot a
        (and, with fill_b, also in slot b, below a)."""
        prod = make_product(self.srv, self.admin)
        rec = self.fac.provision(1)[0]
        assert import_records(self.srv, [rec]).status_code == 200
        r = self.srv.api("POST", "/api/v1/devices", self.admin,
                         json={"ueid": rec["ueid"], "group": group_named(prod, group)})
        assert r.status_code == 201, r.text
        d = self.fac.dir / f"dev{self.fac.n}"
        if fill_b:
            run([binary("rampart-device"), "install-os", d, "--slot", "b", base_os["pkg"]])
        run([binary("rampart-device"), "install-os", d, "--slot", "a", base_os["pkg"]])
        run([binary("rampart-device"), "configure", d, "--server", self.srv.url, "--tenant",
             self.tid, "--server-ca", self.srv.data_dir / "server.crt"])
        self.n_dev += 1
        dev = Device(d, self.tmp / f"device{self.n_dev}.log")
        dev.ueid, dev.product, dev.group = rec["ueid"], prod, group_named(prod, group)
        return dev

    def deploy(self, dev, *image_ids):
        p = self.cli("acme", "deployment", "create", "--group", dev.group, "--image", *image_ids,
                     "--output", "json")
        return json.loads(p.stdout)["id"]

    def dev_row(self, dep, dev):
        js = json.loads(self.cli("acme", "deployment", "show", dep, "--output", "json").stdout)
        return next((d for d in js["devices"] if d["ueid"] == dev.ueid), None)


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    world = World(tmp_path_factory.mktemp("upd-dev"))
    world.os["1.0.0"] = world.make_os("1.0.0", 1)
    world.release(world.os["1.0.0"])
    world.os["2.0.0"] = world.make_os("2.0.0", 2)
    world.os_id = {"2.0.0": world.publish_os(world.os["2.0.0"])}
    yield world
    assert world.srv.stop() == 0


def no_sanitizer_reports(dev):
    log = dev.log()
    assert "Sanitizer" not in log and "runtime error:" not in log, log[-4000:]


# ---- the honest path ----

def test_os_update_trial_confirm_then_floor(w):
    dev = w.device(w.os["1.0.0"])
    dep = w.deploy(dev, w.os_id["2.0.0"])
    dev.start()
    try:
        st = dev.wait(lambda d: (d.status() or {}).get("os_version") == "2.0.0" and
                      d.status()["state"] == "attested" and d.updates() and
                      d.updates()["pending_os"] is None, "OS 2.0.0 attested and confirmed")
        assert st["fwid"] if isinstance(st, dict) else True
        s = dev.status()
        assert s["fwid"] == w.os["2.0.0"]["fwid"] and s["svn"] == 2
        log = dev.log()
        # trial in slot b, reboot, attested with the new measurement, then confirm and floor
        assert "installed into slot b as a trial with 2 boot attempts" in log
        i_att = log.index("attestation (platform certificate, simpleenroll) ok",
                          log.index("OS changed since the last attestation"))
        i_conf = log.index("attested and confirmed in slot b")
        assert i_att < i_conf
        assert "anti-rollback floor now svn 2" in log
        assert dev.floor() == 2
        ev = dev.events()
        assert re.search(r"install slot=b os=rampart-os version=2.0.0 svn=2 trial=2", ev)
        assert "confirm slot=b" in ev
        # the next check-in tells the server
        wait_for(lambda: (w.dev_row(dep, dev) or {}).get("status") == "installed",
                 "the deployment to show installed", log=dev.log)
        # the agent's metadata state is saved and names every role's version
        tuf = json.loads((dev.dir / "data" / "updates" / "tuf.json").read_text())
        assert tuf["format"] == "rampart-tuf-state-1" and tuf["director"] >= 1
        # nothing is downloaded twice: the package left the data directory
        assert not list((dev.dir / "data" / "updates").glob("*.pkg*"))
    finally:
        dev.stop()
    no_sanitizer_reports(dev)


def test_broken_release_that_exits_at_start_is_reverted(w, tmp_path):
    broken = tmp_path / "rampartd-broken"
    broken.write_text("#!/bin/sh\necho 'broken OS: exiting at start' >&2\nexit 1\n")
    broken.chmod(0o755)
    img = w.make_os("2.1.0", 2, rampartd=broken, tag="-broken")
    img_id = w.publish_os(img)
    dev = w.device(w.os["1.0.0"])
    dep = w.deploy(dev, img_id)
    floor = dev.floor()
    dev.start()
    # the agent installs the trial and reboots into it; it exits at once,
    # which powers the emulated board off: power it on again. Each boot of
    # the trial takes one of its 2 attempts; the boot after that reverts.
    assert dev.wait_exit() == 1
    assert "installed into slot b as a trial with 2 boot attempts" in dev.log()
    dev.start()
    assert dev.wait_exit() == 1
    dev.start()
    try:
        # rampart-boot reverted to slot a; the old OS reports it
        dev.wait(lambda d: "revert slot=b" in d.events() and
                 (d.status() or {}).get("state") == "attested" and
                 d.status()["os_version"] == "1.0.0", "the old OS attested again")
        assert dev.log().count("broken OS: exiting at start") == 2
        ev = dev.events()
        assert "revert slot=b reason=trial was not confirmed" in ev
        assert dev.floor() == floor     # a trial never raises the floor
        row = wait_for(lambda: (lambda r: r if r and r["status"] == "reverted" else None)(
            w.dev_row(dep, dev)), "the server to show reverted", log=dev.log)
        assert "2.1.0" in row["reason"] and "not confirmed" in row["reason"], row
        # queued as a revert failure event (urgent: uploaded to the service at
        # once), and never tried again
        def revert_event():
            q = (dev.dir / "data" / "failures" / "queue").read_text()
            if '"revert"' in q and "trial_not_confirmed" in q:
                return True
            r = w.srv.api("GET", "/api/v1/failures/events", w.admin)
            return r.status_code == 200 and dev.ueid in r.text and "trial_not_confirmed" in r.text
        wait_for(revert_event, "the revert failure event", log=dev.log)
        checks = dev.updates()["checks"]
        dev.wait(lambda d: d.updates()["checks"] >= checks + 2, "two more check-ins")
        assert dev.status()["os_version"] == "1.0.0"
        assert dev.log().count("installed into slot b as a trial") == 1
    finally:
        dev.stop()
    no_sanitizer_reports(dev)


# ---- power loss ----

# Every write point of an OS install, in the order they are reached: the
# download (after its first MiB), the agent's record of the install, the
# monitor's invalidate / copy / activate of the inactive slot, the agent's
# record that the slot is active, then in the new OS the confirm (before and
# after), the floor counter and the agent's record of both.
OS_POINTS = ["agent-download", "agent-os-pending", "install-invalidate", "install-copy",
             "install-activate", "agent-os-activated", "agent-confirm", "boot-confirm",
             "agent-confirmed", "counter-advance", "agent-floor"]


@pytest.mark.parametrize("point", OS_POINTS)
def test_power_loss_at_every_write_point_of_an_os_install(w, point):
    dev = w.device(w.os["1.0.0"], fill_b=True)
    dep = w.deploy(dev, w.os_id["2.0.0"])
    dev.start(env={"RP_FAULT": point})
    # the process that reaches the point dies by SIGKILL; then the power goes
    # for the whole device (its process group)
    try:
        rc = dev.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        rc = 0
    assert rc != 0, f"{point} was never reached\n" + dev.log()[-3000:]
    dev.proc = subprocess.Popen(["true"])       # keep kill9 symmetric
    dev.kill9()
    (dev.dir / "data" / "status.json").unlink()
    try:
        dev.start()
        # the first boot after the cut runs a verified image, never below the floor
        dev.wait(lambda d: (d.status() or {}).get("state") == "attested" and
                 d.status()["running"], f"a verified OS to boot after a cut at {point}")
        s = dev.status()
        assert s["os_version"] in ("1.0.0", "2.0.0")
        assert s["svn"] >= dev.floor()
        assert "recovery" not in dev.events()
        # and the next check-ins complete the update
        dev.wait(lambda d: (d.status() or {}).get("os_version") == "2.0.0" and
                 d.status()["state"] == "attested" and (d.updates() or {}).get("pending_os") is None
                 and d.floor() == 2, f"the update to complete after a cut at {point}")
        wait_for(lambda: (w.dev_row(dep, dev) or {}).get("status") == "installed",
                 "the deployment to show installed", log=dev.log)
        if point == "agent-download":
            assert "bytes, resumed)" in dev.log()
        assert dev.log().count("anti-rollback floor now svn 2") == 1 or point in (
            "counter-advance", "agent-floor")
    finally:
        dev.stop()
    no_sanitizer_reports(dev)


# ---- app updates ----

COUNTER = "0c8e4b7a-2f1d-4c3b-8a9e-5d6f7a8b9c01"
PROBE = "11111111-2222-4333-8444-5555555555d1"


@pytest.fixture(scope="module")
def app(w, tmp_path_factory):
    """acme's delegation bound to the tenant, and two versions of the
    counter example app signed by acme's delegated key."""
    tmp = tmp_path_factory.mktemp("app")
    key, pub = tmp / "acme.pem", tmp / "acme.pub"
    run([binary("rampart"), "keys", "generate", "--out", key, "--pub", pub])
    run([binary("rampart"), "repo", "delegate", "--dir", w.d, "--tenant", "acme", "--key", pub,
         "--component", COUNTER, "--component", PROBE])
    w.cli("platform", "repo", "upload", "targets", w.md / "targets.json")
    w.cli("platform", "repo", "bind", "acme", w.tid)
    top = pathlib.Path(binary("rampart")).parents[2]
    manifest = json.loads((top.parent / "examples" / "apps" / "counter" / "app_manifest.json").read_text())
    ids = {}
    for version in ("1", "2"):
        d = tmp / f"counter-{version}"
        (d / "bin").mkdir(parents=True)
        (d / "lib").mkdir()
        shutil.copy(top / "src" / "sdk" / "app-counter", d / "bin" / manifest["Name"])
        shutil.copy(top / "src" / "sdk" / "librampart.so.1", d / "lib" / "librampart.so.1")
        (d / "app_manifest.json").write_text(json.dumps(dict(manifest, CmdArgs=[version])))
        pkg = tmp / f"counter-{version}.pkg"
        run([binary("rampart"), "image", "pack", d, "--out", pkg, "--name", manifest["Name"],
             "--type", "app", "--version", version, "--svn", version, "--component-id", COUNTER])
        run([binary("rampart"), "image", "sign", pkg, "--key", key])
        run([binary("rampart"), "repo", "add-target", "--dir", w.d, "--trust", pub, "--tenant",
             "acme", "--key", key, pkg])
        w.cli("acme", "image", "upload", pkg, "--targets", w.md / "acme.json")
        imgs = w.srv.api("GET", "/api/v1/images", w.admin).json()["items"]
        ids[version] = next(i["id"] for i in imgs if i["sha256"] == sha(pkg))
    # an app that defers updates for 60 s from its start and logs system events
    d = tmp / "probe"
    (d / "bin").mkdir(parents=True)
    (d / "lib").mkdir()
    shutil.copy(top / "src" / "sdk" / "app-sdkprobe", d / "bin" / "probe")
    shutil.copy(top / "src" / "sdk" / "librampart.so.1", d / "lib" / "librampart.so.1")
    (d / "app_manifest.json").write_text(json.dumps({
        "SchemaVersion": 1, "Name": "probe", "ComponentId": PROBE, "EntryPoint": "/bin/probe",
        "CmdArgs": ["defer:60", "events"],
        "Capabilities": {"SoftwareUpdateDeferral": True, "SystemEventNotifications": True}}))
    pkg = tmp / "probe.pkg"
    run([binary("rampart"), "image", "pack", d, "--out", pkg, "--name", "probe", "--type", "app",
         "--version", "1", "--svn", "1", "--component-id", PROBE])
    run([binary("rampart"), "image", "sign", pkg, "--key", key])
    run([binary("rampart"), "repo", "add-target", "--dir", w.d, "--trust", pub, "--tenant", "acme",
         "--key", key, pkg])
    w.cli("acme", "image", "upload", pkg, "--targets", w.md / "acme.json")
    imgs = w.srv.api("GET", "/api/v1/images", w.admin).json()["items"]
    ids["probe"] = next(i["id"] for i in imgs if i["sha256"] == sha(pkg))
    return ids


def current_app(dev):
    link = dev.dir / "data" / "apps" / "installed" / COUNTER / "current"
    try:
        return os.readlink(link)
    except OSError:
        return None


def test_app_update_through_the_supervisor(w, app):
    dev = w.device(w.os["1.0.0"])
    dep = w.deploy(dev, app["1"])
    dev.start()
    try:
        dev.wait(lambda d: current_app(d) == "v/1", "app version 1 installed")
        wait_for(lambda: (w.dev_row(dep, dev) or {}).get("status") == "installed",
                 "the deployment to show installed", log=dev.log)
        # a new deployment: new version directory, atomic switch, restart
        dep2 = w.deploy(dev, app["2"])
        dev.wait(lambda d: current_app(d) == "v/2", "app version 2 installed")
        wait_for(lambda: (w.dev_row(dep2, dev) or {}).get("status") == "installed",
                 "the deployment to show installed", log=dev.log)
        assert "app 0c8e4b7a-2f1d-4c3b-8a9e-5d6f7a8b9c01 2 (svn 2) installed" in dev.log()
        assert dev.agent()["app_svn"][COUNTER] == 2
        # going back is a rollback: refused, version 2 stays
        dep3 = w.deploy(dev, app["1"])
        dev.wait(lambda d: "svn 1 is below the installed app's svn 2" in d.log(),
                 "the app rollback refused")
        assert current_app(dev) == "v/2"
        wait_for(lambda: (w.dev_row(dep3, dev) or {}).get("status") == "failed",
                 "the deployment to show failed", log=dev.log)
    finally:
        dev.stop()
    no_sanitizer_reports(dev)


@pytest.mark.parametrize("point", ["agent-app-installed", "agent-state"])
def test_power_loss_during_an_app_install(w, app, point):
    dev = w.device(w.os["1.0.0"])
    dep = w.deploy(dev, app["2"])
    dev.start(env={"RP_FAULT": point})
    try:
        rc = dev.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        rc = 0
    assert rc != 0, f"{point} was never reached\n" + dev.log()[-3000:]
    dev.proc = subprocess.Popen(["true"])
    dev.kill9()
    assert current_app(dev) in (None, "v/2")
    try:
        dev.start()
        dev.wait(lambda d: current_app(d) == "v/2", "app version 2 after the cut")
        wait_for(lambda: (w.dev_row(dep, dev) or {}).get("status") == "installed",
                 "the deployment to show installed", log=dev.log)
    finally:
        dev.stop()
    no_sanitizer_reports(dev)


def test_os_update_deferred_by_an_app_up_to_the_limit(w, app):
    dev = w.device(w.os["1.0.0"])
    w.deploy(dev, app["probe"])
    applog = dev.dir / "data" / "apps" / "state" / "log" / "probe.log"
    dev.start(env={"RAMPARTD_UPDATE_MAX_DEFER_S": "3"})
    try:
        dev.wait(lambda d: applog.exists() and "probe: defer:60 -> 0" in applog.read_text(),
                 "the probe app to defer updates")
        dep = w.deploy(dev, w.os_id["2.0.0"])
        dev.wait(lambda d: (d.status() or {}).get("os_version") == "2.0.0" and
                 d.status()["state"] == "attested", "OS 2.0.0 after the deferral limit")
        log = dev.log()
        i_def = log.index("deferred by an app until")
        i_lim = log.index("was deferred for")
        i_inst = log.index("installed into slot b")
        assert i_def < i_lim < i_inst and "the limit: installing now" in log
        # the app was told the OS update is pending (event text "os")
        assert re.search(r"probe: event \d+ 'os'", applog.read_text()), applog.read_text()
        wait_for(lambda: (w.dev_row(dep, dev) or {}).get("status") == "installed",
                 "the deployment to show installed", log=dev.log)
    finally:
        dev.stop()
    no_sanitizer_reports(dev)

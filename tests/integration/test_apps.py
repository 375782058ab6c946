"""Apps on a real emulated device: rampart-boot runs rampartd from its OS
image, rampartd's supervisor runs each installed app in a compartment, and
librampart is the apps' only way to ask for more. Apps reach a device only
as signed packages, here through `rampart dev sideload`, which needs the
development capability granted by a real rampart-server.

Each test asserts the refusals: a missing capability is EACCES with a log
line naming it; a peripheral owned by another app, an undeclared peripheral,
a one-sided inter-app connection and sideloading without (or with a forged,
foreign or unrelated) capability are refused; a crashing app is restarted
with growing back-off while the others keep running; counter keeps its
value across restarts and an update."""
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import BUILD, binary, run
from entity_fixture import group_named, import_records, make_product
from server_fixture import *  # noqa: F401,F403  (fixtures: server, make_server)
from test_rampartd import osimg, release, wait_for, world  # noqa: F401  (fixtures)

EX = BUILD / "src" / "sdk"
IDS = {
    "blink": "6a1f3c2e-8b4d-4e5f-9a7b-1c2d3e4f5a60",
    "counter": "0c8e4b7a-2f1d-4c3b-8a9e-5d6f7a8b9c01",
    "crasher": "c4a5b6d7-e8f9-4a0b-9c1d-2e3f4a5b6c7d",
    "telemetry": "3f1c0a52-6b8e-4d7a-9c41-0e2f5b6a7d10",
    "p1": "11111111-2222-4333-8444-555555555501",
    "p2": "11111111-2222-4333-8444-555555555502",
    "p3": "11111111-2222-4333-8444-555555555503",
}
TOP = BUILD.parent


def manifest(name, cid=None, args=(), caps=None, entry=None):
    return {"SchemaVersion": 1, "Name": name, "ComponentId": cid or IDS[name],
            "EntryPoint": entry or f"/bin/{name}", "CmdArgs": list(args), "Capabilities": caps or {}}


def example_manifest(name, **over):
    m = json.loads((TOP / "examples" / "apps" / name / "app_manifest.json").read_text())
    m.update(over)
    return m


def pack(tmp, m, exe, version, key, extra=None):
    """A signed app package: bin/<Name>, lib/librampart.so.1, the manifest."""
    d = tmp / f"img-{m['Name']}-{version}-{os.urandom(3).hex()}"
    (d / "bin").mkdir(parents=True)
    (d / "lib").mkdir()
    shutil.copy(EX / f"app-{exe}", d / "bin" / m["Name"])
    (d / "bin" / m["Name"]).chmod(0o755)
    shutil.copy(EX / "librampart.so.1", d / "lib" / "librampart.so.1")
    for rel, data in (extra or {}).items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_bytes(data)
    (d / "app_manifest.json").write_text(json.dumps(m))
    pkg = tmp / f"{m['Name']}-{version}-{os.urandom(3).hex()}.pkg"
    run([binary("rampart"), "image", "pack", d, "--out", pkg, "--name", m["Name"], "--type", "app",
         "--version", version, "--svn", "1", "--component-id", m["ComponentId"]])
    run([binary("rampart"), "image", "sign", pkg, "--key", key])
    return pkg


def dev_cmd(w, *args, check=True):
    return run([binary("rampart"), "dev", *args, "--device", w["dev"].dir], check=check)


def keypair(tmp, name):
    key, pub = tmp / f"{name}.key", tmp / f"{name}.pub"
    run([binary("rampart"), "keys", "generate", "--out", key, "--pub", pub])
    return key, pub


def grant(w, pubs, path):
    r = w["server"].api("POST", f"/api/v1/devices/{w['ueid']}/capabilities/development", w["admin"],
                        json={"public_keys": [p.read_text() for p in pubs]})
    assert r.status_code == 200, r.text
    path.write_text(r.json()["document"])
    return path


def app_log(w, name):
    p = w["dev"].dir / "data" / "apps" / "state" / "log" / f"{name}.log"
    return p.read_text() if p.exists() else ""


def wait_log(w, name, needle, timeout=60):
    return wait_for(lambda: needle in app_log(w, name), f"'{needle}' in the log of app {name}",
                    timeout=timeout, log=lambda: app_log(w, name) + "\n--- device ---\n" + w["dev"].log())


def apps(w):
    return {a["name"]: a for a in json.loads(dev_cmd(w, "apps", "--json").stdout)}


def probe_result(w, name, arg):
    m = re.search(rf"probe: {re.escape(arg)} -> (-?\d+)", app_log(w, name))
    return int(m.group(1)) if m else None


@pytest.fixture
def dev(world, tmp_path):
    """A running, attested device with the development capability for `devkey`."""
    w = world
    release(w, "1.0.0")
    # granted before the device starts: rampartd fetches it after attesting
    w["key"], w["pub"] = keypair(tmp_path, "dev")
    grant(w, [w["pub"]], tmp_path / "cap.jws")
    # (RAMPARTD_UPLOAD_POLL_S: failure events stay in the queue, where the tests read them,
    # instead of leaving with rampartd's next upload)
    w["dev"].start(env={"RAMPARTD_APP_BACKOFF_MIN_MS": "200", "RAMPARTD_APP_BACKOFF_MAX_MS": "3200",
                        "RAMPARTD_APP_CONFIRM_MS": "3000", "RAMPARTD_UPLOAD_POLL_S": "86400"})
    w["dev"].wait_status(lambda s: s["state"] == "attested", "attestation")
    wait_for(lambda: "development capability fetched: 1 key(s)" in w["dev"].log(), "the capability fetch",
             log=w["dev"].log)
    assert (w["dev"].dir / "data" / "capabilities" / "development.jws").read_text() == \
        (tmp_path / "cap.jws").read_text()
    wait_for(lambda: (w["dev"].dir / "data" / "run" / "control.sock").exists(), "the control socket",
             log=w["dev"].log)
    return w


# ---- sideloading and the development capability ----

def test_sideload_needs_the_development_capability(world, tmp_path):
    w = world
    release(w, "1.0.0")
    w["dev"].start()
    w["dev"].wait_status(lambda s: s["state"] == "attested", "attestation")
    wait_for(lambda: (w["dev"].dir / "data" / "run" / "control.sock").exists(), "the control socket",
             log=w["dev"].log)
    key, pub = keypair(tmp_path, "dev")
    pkg = pack(tmp_path, example_manifest("counter"), "counter", "1", key)

    # no capability: the service has none for it (the fetch after attesting found none)
    wait_for(lambda: "info rampartd: attested" in w["dev"].log() or "attested: renewal" in w["dev"].log(),
             "attestation to finish", log=w["dev"].log)
    r = w["server"].api("GET", "/device/v1/capabilities/development")
    assert r.status_code == 401     # device route: a client certificate is needed
    # sideloading is refused, nothing installed
    p = dev_cmd(w, "sideload", pkg, check=False)
    assert p.returncode == 1
    assert "sideloading refused: this device has no development capability" in p.stderr
    assert apps(w) == {}
    assert not (w["dev"].dir / "data" / "apps" / "installed" / IDS["counter"]).exists()

    # a document changed after the service signed it (a longer validity)
    good = grant(w, [pub], tmp_path / "cap.jws").read_text()
    h, payload, _sig = good.split(".")
    forged = tmp_path / "forged.jws"
    body = json.loads(__import__("base64").urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["exp"] += 10 ** 6
    enc = __import__("base64").urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    forged.write_text(f"{h}.{enc}.{_sig}")
    p = dev_cmd(w, "grant", forged, check=False)
    assert p.returncode == 1 and "not signed by the service" in p.stderr, p.stderr
    # a capability for another device
    other = w["fac"].provision(1)[0]
    assert import_records(w["server"], [other]).status_code == 200
    prod = make_product(w["server"], w["admin"])
    r = w["server"].api("POST", "/api/v1/devices", w["admin"],
                        json={"ueid": other["ueid"], "group": group_named(prod, "Development")})
    assert r.status_code == 201, r.text
    r = w["server"].api("POST", f"/api/v1/devices/{other['ueid']}/capabilities/development", w["admin"],
                        json={"public_keys": [pub.read_text()]})
    assert r.status_code == 200, r.text
    (tmp_path / "other.jws").write_text(r.json()["document"])
    p = dev_cmd(w, "grant", tmp_path / "other.jws", check=False)
    assert p.returncode == 1 and f"is for device {other['ueid']}" in p.stderr, p.stderr
    assert not (w["dev"].dir / "data" / "capabilities" / "development.jws").exists()
    # only an admin of the device's tenant gets one
    r = w["server"].api("POST", f"/api/v1/devices/{w['ueid']}/capabilities/development",
                        json={"public_keys": [pub.read_text()]})
    assert r.status_code == 401
    r = w["server"].api("POST", f"/api/v1/devices/{w['ueid']}/capabilities/development", w["admin"],
                        json={"public_keys": ["not a key"]})
    assert r.status_code == 400 and "public_keys[0]" in r.text

    # the real grant: stored, and sideloading works
    out = dev_cmd(w, "grant", tmp_path / "cap.jws").stdout
    assert f"development capability stored: device {w['ueid']}" in out
    # a package signed by a key the capability does not list is refused
    stranger, _ = keypair(tmp_path, "stranger")
    p = dev_cmd(w, "sideload", pack(tmp_path, example_manifest("counter"), "counter", "1", stranger),
                check=False)
    assert p.returncode == 1 and "sideload refused: package refused" in p.stderr, p.stderr
    assert apps(w) == {}
    out = dev_cmd(w, "sideload", pkg).stdout
    assert f"installed app 'counter' ({IDS['counter']}) version 1" in out
    wait_log(w, "counter", "counter: value 1 (version 1)")
    a = apps(w)["counter"]
    assert a["state"] == "running" and a["version"] == "1" and a["pid"] > 0
    # the app runs as its own uid, not root
    assert 20000 <= a["uid"] < 30000
    # an OS-type package is not an app
    assert "rampartd" not in dev_cmd(w, "apps").stdout


# ---- capabilities through librampart ----

DENIED = [
    ("gpio:5", "Gpio"), ("uart:ISU0", "Uart"), ("i2c:ISU1", "I2cMaster"), ("spi:ISU2", "SpiMaster"),
    ("storage-write:x", "MutableStorage"), ("tls", "DeviceAuthentication"),
    ("events", "SystemEventNotifications"), ("defer:10", "SoftwareUpdateDeferral"),
    ("reboot", "PowerControls.ForceReboot"), ("listen", "AllowedApplicationConnections"),
    (f"connect:{IDS['p2']}", "AllowedApplicationConnections"),
]


def test_sdk_calls_without_capability_are_refused(dev, tmp_path):
    w = dev
    m = manifest("p1", args=[a for a, _ in DENIED], entry="/bin/p1")
    dev_cmd(w, "sideload", pack(tmp_path, m, "sdkprobe", "1", w["key"]))
    wait_log(w, "p1", "probe: done")
    log = app_log(w, "p1")
    for arg, cap in DENIED:
        assert probe_result(w, "p1", arg) == -13, (arg, log)
        assert f"missing capability {cap}" in log, (cap, log)
    # rampartd logs each refusal it decides, naming the app and the capability
    dlog = w["dev"].log()
    for cap in ("Gpio", "DeviceAuthentication", "SystemEventNotifications", "PowerControls.ForceReboot"):
        assert re.search(rf"apps: app 'p1': .*missing capability {re.escape(cap)}", dlog), cap
    # no peripheral was handed over, and the device did not reboot
    assert not (w["dev"].dir / "data" / "board" / "gpio" / "5").exists()
    assert w["dev"].status()["running"] and apps(w)["p1"]["starts"] == 1


def test_sdk_calls_with_capability_are_granted(dev, tmp_path):
    w = dev
    caps = {"Gpio": [5], "Uart": ["ISU0"], "MutableStorage": {"SizeKB": 256}, "DeviceAuthentication": True,
            "SystemEventNotifications": True, "SoftwareUpdateDeferral": True}
    args = ["gpio:5", "gpio:6", "uart:ISU0", "uart:ISU9", "storage-write:x", "storage-fill", "tls", "events",
            "defer:30", "defer:999999", "image:app_manifest.json", "image:../etc/passwd"]
    dev_cmd(w, "sideload", pack(tmp_path, manifest("p1", args=args, caps=caps), "sdkprobe", "1", w["key"]))
    wait_log(w, "p1", "probe: done")
    log = app_log(w, "p1")
    assert probe_result(w, "p1", "gpio:5") == 0, log
    assert probe_result(w, "p1", "gpio:6") == -13 and "missing capability Gpio" in log   # not declared
    assert probe_result(w, "p1", "uart:ISU0") == 0
    assert probe_result(w, "p1", "uart:ISU9") == -13
    assert probe_result(w, "p1", "storage-write:x") == 0
    assert probe_result(w, "p1", "storage-fill") == -28, log     # the quota: ENOSPC
    assert probe_result(w, "p1", "tls") == 0, log + w["dev"].log()
    assert probe_result(w, "p1", "events") == 0
    assert probe_result(w, "p1", "defer:30") == 0
    assert probe_result(w, "p1", "defer:999999") == -22
    assert probe_result(w, "p1", "image:app_manifest.json") == 0
    assert probe_result(w, "p1", "image:../etc/passwd") == -22
    # the peripherals are the board's files
    assert (w["dev"].dir / "data" / "board" / "gpio" / "5").read_text() == "0\n"
    assert (w["dev"].dir / "data" / "board" / "uart" / "ISU0").exists()
    # the storage file is in the app's own image file, not visible to the host as a plain path
    assert not (w["dev"].dir / "data" / "x").exists()


def test_peripheral_owned_by_another_app_is_refused(dev, tmp_path):
    w = dev
    dev_cmd(w, "sideload", pack(tmp_path, example_manifest("blink"), "blink", "1", w["key"]))
    wait_log(w, "blink", "blink: driving GPIO 8")
    wait_for(lambda: (w["dev"].dir / "data" / "board" / "gpio" / "8").exists(), "GPIO 8 on the board")
    seen = set()
    wait_for(lambda: seen.add((w["dev"].dir / "data" / "board" / "gpio" / "8").read_text()) or len(seen) == 2,
             "GPIO 8 to toggle")
    # another app declaring GPIO 8 is refused at install, naming the pin and its owner
    m = manifest("p2", args=["gpio:8"], caps={"Gpio": [8]})
    p = dev_cmd(w, "sideload", pack(tmp_path, m, "sdkprobe", "1", w["key"]), check=False)
    assert p.returncode == 1
    assert "Capabilities.Gpio[0]' is 8, already owned by app 'blink'" in p.stderr, p.stderr
    assert set(apps(w)) == {"blink"}
    assert not (w["dev"].dir / "data" / "apps" / "installed" / IDS["p2"]).exists()
    # and one that did not declare it cannot open it at run time either
    m = manifest("p3", args=["gpio:8"], caps={"Gpio": [9]})
    dev_cmd(w, "sideload", pack(tmp_path, m, "sdkprobe", "1", w["key"]))
    wait_log(w, "p3", "probe: done")
    assert probe_result(w, "p3", "gpio:8") == -13
    assert apps(w)["blink"]["state"] == "running"


def test_inter_app_connections_need_both_manifests(dev, tmp_path):
    w = dev
    # p1 and p2 list each other; p3 lists p1, but p1 does not list p3
    pk = lambda name, args, conns: pack(tmp_path, manifest(name, args=args, caps={
        "AllowedApplicationConnections": conns}), "sdkprobe", "1", w["key"])
    dev_cmd(w, "sideload", pk("p1", ["listen"], [IDS["p2"]]))
    wait_log(w, "p1", "probe: listen -> 0")
    dev_cmd(w, "sideload", pk("p2", [f"connect:{IDS['p1']}"], [IDS["p1"]]))
    wait_log(w, "p2", f"probe: connect:{IDS['p1']} -> 0")
    assert "probe: reply 'ack hello'" in app_log(w, "p2")
    assert f"probe: connection from {IDS['p2']}: 'hello'" in app_log(w, "p1")
    dev_cmd(w, "sideload", pk("p3", [f"connect:{IDS['p1']}"], [IDS["p1"]]))
    wait_log(w, "p3", "probe: done")
    assert probe_result(w, "p3", f"connect:{IDS['p1']}") == -13
    assert f"does not list {IDS['p3']}" in app_log(w, "p3")
    assert f"connection from {IDS['p3']}" not in app_log(w, "p1")


# ---- supervision ----

def failq_events(w):
    raw = (w["dev"].dir / "data" / "failures" / "queue").read_text()
    return [e["event"] for e in json.loads(raw.split("\n", 1)[1])["events"]]


def test_crashing_app_restarts_with_backoff_and_others_keep_running(dev, tmp_path):
    w = dev
    # a sanitizer build's app catches SIGSEGV itself (and exits 1): crash by abort() there
    sanitized = b"__asan_init" in (EX / "app-crasher").read_bytes()
    mode, sig = ("abort", 6) if sanitized else ("segv", 11)
    for name in ("blink", "counter", "crasher"):
        m = example_manifest(name)
        if name == "crasher":
            m["CmdArgs"] = [mode, "20"]
        dev_cmd(w, "sideload", pack(tmp_path, m, name, "1", w["key"]))
    wait_log(w, "crasher", "crasher: waiting for GPIO 20")
    wait_log(w, "counter", "counter: value 1")
    before = apps(w)
    # command the crash: the pin stays set, so every start crashes again
    (w["dev"].dir / "data" / "board" / "gpio" / "20").write_text("1\n")
    dlog = lambda: w["dev"].log()
    wait_for(lambda: len(re.findall(r"app 'crasher': restart \d+ in (\d+) ms", dlog())) >= 4,
             "four restarts of crasher", log=dlog)
    delays = [int(x) for x in re.findall(r"app 'crasher': restart \d+ in (\d+) ms", dlog())]
    assert delays[:4] == [200, 400, 800, 1600], delays
    assert "app 'crasher' (%s) version 1 killed by signal %d" % (IDS["crasher"], sig) in dlog()
    assert app_log(w, "crasher").count(f"crasher: commanded: crashing ({mode})") >= 4
    # the crashes are in the failure queue, coalesced into one event with a count
    crashes = [e for e in failq_events(w) if e["component_id"] == IDS["crasher"]]
    assert crashes and crashes[0]["class"] == "app_crash" and crashes[0]["signal"] == sig
    assert sum(e["count"] for e in crashes) >= 4
    # with the backtrace taken from outside by the app's crash monitor, symbolized
    fns = [(f["module"], f["function"]) for f in crashes[0]["frames"]]
    assert ("crasher", "crash_now") in fns and ("crasher", "main") in fns, fns
    if not sanitized:
        assert fns[0] == ("crasher", "crash_now") and crashes[0]["fault_addr"] == "0x10"
    assert "app 'crasher': crash at pc" in dlog()
    # the others were never restarted
    after = apps(w)
    for name in ("blink", "counter"):
        assert after[name]["pid"] == before[name]["pid"] and after[name]["starts"] == 1
        assert after[name]["state"] == "running"
    # clearing the command lets it run again
    (w["dev"].dir / "data" / "board" / "gpio" / "20").write_text("0\n")
    wait_for(lambda: apps(w)["crasher"]["state"] == "running" and
             app_log(w, "crasher").count("crasher: waiting") >= 5, "crasher back", log=dlog)


def test_counter_keeps_its_value_across_restart_and_update(dev, tmp_path):
    w = dev
    m = example_manifest("counter")
    dev_cmd(w, "sideload", pack(tmp_path, m, "counter", "1", w["key"]))
    wait_log(w, "counter", "counter: value 1 (version 1)")
    # the app's output, through the CLI; names that are not app names are refused
    assert "counter: value 1 (version 1)" in dev_cmd(w, "logs", "counter").stdout
    p = dev_cmd(w, "logs", "../../etc/passwd", check=False)
    assert p.returncode == 2 and "is not an app name" in p.stderr
    assert dev_cmd(w, "logs", "nosuchapp", check=False).returncode == 1
    # killed from outside: restarted, and the value survives
    os.kill(apps(w)["counter"]["pid"], signal.SIGKILL)
    wait_log(w, "counter", "counter: value 2 (version 1)")
    # an update: stop, new version directory, switch, start; the value survives
    m2 = dict(m, CmdArgs=["2"])
    out = dev_cmd(w, "sideload", pack(tmp_path, m2, "counter", "2", w["key"])).stdout
    assert "version 2" in out
    wait_log(w, "counter", "counter: value 3 (version 2)")
    inst = w["dev"].dir / "data" / "apps" / "installed" / IDS["counter"]
    assert os.readlink(inst / "current") == "v/2"
    # the old version is kept until the new one has run, then removed
    a = apps(w)["counter"]
    assert a["version"] == "2"
    wait_for(lambda: not (inst / "v" / "1").exists() and not (inst / "previous").exists(),
             "version 1 to be removed", log=w["dev"].log)
    # the same version again is refused and changes nothing
    p = dev_cmd(w, "sideload", pack(tmp_path, m2, "counter", "2", w["key"]), check=False)
    assert p.returncode == 1 and "version 2 of app 'counter' is already installed" in p.stderr
    assert apps(w)["counter"]["pid"] == a["pid"]
    # across a reboot of the device as well
    w["dev"].stop()
    w["dev"].start()
    wait_log(w, "counter", "counter: value 4 (version 2)")


# ---- device authentication: telemetry over mTLS to a real Mosquitto ----

@pytest.fixture
def broker(dev, tmp_path):
    from test_mosquitto import MOSQUITTO, free_port, self_signed
    if not os.path.exists(MOSQUITTO):
        pytest.fail("mosquitto is required (tools/debian-packages.txt)")
    w = dev
    ca = self_signed("broker test CA", tmp_path / "bca.key", tmp_path / "bca.crt", ca=True)
    self_signed("localhost", tmp_path / "broker.key", tmp_path / "broker.crt", issuer=ca)
    r = w["server"].api("GET", f"/.well-known/est/{w['tenant']}/cacerts",
                        headers={"Accept": "application/x-pem-file"})
    assert r.status_code == 200, r.text
    (tmp_path / "tenant-ca.pem").write_bytes(r.content)
    port, log = free_port(), tmp_path / "mosquitto.log"
    (tmp_path / "mosquitto.conf").write_text(f"""per_listener_settings false
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
    p = subprocess.Popen([MOSQUITTO, "-c", str(tmp_path / "mosquitto.conf")], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_for(lambda: log.exists() and "Opening ipv4 listen socket" in log.read_text(), "mosquitto")
    yield {"port": port, "log": log, "ca": tmp_path / "bca.crt"}
    p.terminate()
    p.wait(timeout=10)


def test_telemetry_publishes_over_mtls_with_the_device_key(dev, broker, tmp_path):
    w, port = dev, broker["port"]
    ca = {"etc/broker-ca.pem": broker["ca"].read_bytes()}
    args = ["127.0.0.1", str(port), "etc/broker-ca.pem", "devices/telemetry", "5", "50"]
    m = example_manifest("telemetry", CmdArgs=args)
    m["Capabilities"]["AllowedConnections"] = [f"127.0.0.1:{port}"]
    dev_cmd(w, "sideload", pack(tmp_path, m, "telemetry", "1", w["key"], extra=ca))
    wait_log(w, "telemetry", "telemetry: done")
    assert app_log(w, "telemetry").count("telemetry: published") == 5
    blog = broker["log"].read_text()
    # the broker knows the sender by its certificate: the device's app certificate, CN = UEID
    # (client id: app name and UEID, unique per device)
    assert re.search(rf"New client connected from 127\.0\.0\.1:\d+ as telemetry-{w['ueid']} .*u'{w['ueid']}'",
                     blog), blog
    assert len(re.findall(rf"Received PUBLISH from telemetry-{w['ueid']} .*'devices/telemetry'", blog)) == 5, blog
    # the private key never reached the app: nothing key-like in its image, storage or log
    assert "PRIVATE KEY" not in app_log(w, "telemetry")

    # the same app without DeviceAuthentication gets no identity and never reaches the broker
    m2 = dict(m, Name="telemetry2", ComponentId=IDS["p1"], EntryPoint="/bin/telemetry2")
    m2["Capabilities"] = {"AllowedConnections": [f"127.0.0.1:{port}"]}
    dev_cmd(w, "sideload", pack(tmp_path, m2, "telemetry", "1", w["key"], extra=ca))
    wait_log(w, "telemetry2", "telemetry: no device authentication: Permission denied")
    assert "missing capability DeviceAuthentication" in app_log(w, "telemetry2")
    assert "as telemetry2" not in broker["log"].read_text()


def test_update_that_keeps_failing_is_rolled_back(dev, tmp_path):
    w = dev
    m = example_manifest("counter")
    dev_cmd(w, "sideload", pack(tmp_path, m, "counter", "1", w["key"]))
    wait_log(w, "counter", "counter: value 1 (version 1)")
    # version 2 is a broken build: it exits 1 at once (no GPIO for it), every time
    dev_cmd(w, "sideload", pack(tmp_path, dict(m, CmdArgs=["exit:3"]), "crasher", "2", w["key"]))
    wait_for(lambda: "app 'counter': version 2 failed 3 times before it was confirmed: rolled back to 1"
             in w["dev"].log(), "the rollback", log=w["dev"].log)
    wait_log(w, "counter", "counter: value 2 (version 1)")
    inst = w["dev"].dir / "data" / "apps" / "installed" / IDS["counter"]
    assert os.readlink(inst / "current") == "v/1"
    assert not (inst / "v" / "2").exists() and not (inst / "previous").exists()
    a = apps(w)["counter"]
    assert a["version"] == "1" and a["state"] == "running"
    # each failed start of version 2 was reported with its version
    exits = [e for e in failq_events(w) if e["component_id"] == IDS["counter"]]
    assert exits and all(e["component_version"] == "2" and e["class"] == "app_exit" for e in exits)
    assert sum(e["count"] for e in exits) >= 3

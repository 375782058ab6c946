#!/usr/bin/python3
"""Rampart demo: the whole platform, end to end, with real components.

1. starts rampart-server (SQLite in a fresh data directory) and Mosquitto,
   which trusts the tenant's CA bundle from the server (mTLS required);
2. creates manufacturer keys, provisions three emulated devices, registers
   them, creates a product and claims the devices into its Field Test group;
3. boots the devices: each attests and receives its certificates;
4. signs and deploys the telemetry app: every device installs it and its
   messages reach Mosquitto, each sender known by its certificate;
5. deploys the crasher app to one device: its crash becomes one failure
   bucket with a symbolized backtrace;
6. releases a new OS: trial in the inactive slot, reboot, attestation with
   the new measurement, confirmation, anti-rollback floor raised;
7. attacks, each refused with its reason: a tampered image upload, a
   rollback deployment, an app reaching an undeclared host, a forged device;
8. stops everything and removes its files (also on Ctrl-C).

Every step checks that it did what it claims; the demo exits 0 only if all
of them did. Interactive or not (no TTY: plain progress lines).

usage: tools/demo.py [--build BUILD_DIR] [--keep] [--non-interactive]
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from demo_lib import (Broker, Device, Narrator, Procs, Server, StepFailed, Tools,  # noqa: E402
                      expect)

TOP = pathlib.Path(__file__).resolve().parents[1]
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
IDS = {
    "telemetry": "3f1c0a52-6b8e-4d7a-9c41-0e2f5b6a7d10",
    "crasher": "c4a5b6d7-e8f9-4a0b-9c1d-2e3f4a5b6c7d",
    "uplink": "9b2e6d41-7c3a-4f58-8e1d-5a6b7c8d9e0f",
}
TOPIC = "devices/telemetry"
# The demo's devices check for updates every second and retry quickly, so
# the scenario fits in a few minutes (a real device checks in hourly).
DEVICE_ENV = {
    "RAMPARTD_UPDATE_INTERVAL_MS": "1000", "RAMPARTD_UPDATE_RETRY_MS": "500",
    "RAMPARTD_BACKOFF_MIN_MS": "300", "RAMPARTD_BACKOFF_MAX_MS": "2000",
    "RAMPARTD_APP_BACKOFF_MIN_MS": "500", "RAMPARTD_APP_BACKOFF_MAX_MS": "4000",
    "RAMPARTD_UPLOAD_INTERVAL_S": "1", "RAMPARTD_UPLOAD_BACKOFF_MIN_S": "1",
    "RAMPARTD_UPLOAD_BACKOFF_MAX_S": "4", "RAMPARTD_UPLOAD_POLL_S": "1",
}
WAIT = 90


class Demo:
    def __init__(self, build: pathlib.Path, work: pathlib.Path):
        self.out = Narrator()
        self.work = work
        self.t = Tools(build, work, self.out)
        self.procs = Procs()
        self.devices = []

    # ---- small helpers ----
    def say(self, text=""):
        self.out.say(text)

    def wait(self, pred, what, timeout=WAIT, log=None):
        return self.out.wait(pred, what, timeout, log=log)

    def as_platform(self):
        self.t.who = "platform"

    def as_tenant(self):
        self.t.who = "acme"

    def devlogs(self):
        return "\n".join(f"--- {d.name}\n" + "\n".join(d.log().splitlines()[-15:])
                         for d in self.devices)

    def upload(self, pkg, targets):
        p = self.t.rampart("image", "upload", pkg, "--targets", targets, "--output", "json",
                           show_out=False)
        img = json.loads(p.stdout)
        img = img.get("image", img)
        self.say(f"image {img['id']}: {img['name']} {img['version']} (svn {img['svn']}), "
                 f"sha256 {img['sha256'][:16]}...")
        return img["id"]

    def app_package(self, name, version, exe, manifest, extra=None):
        """A signed app package: bin/<Name>, lib/librampart.so.1, the
        manifest, extra files; listed in the tenant's delegated targets."""
        src = self.work / "apps" / f"{name}-{version}"
        (src / "bin").mkdir(parents=True)
        (src / "lib").mkdir()
        (src / "etc").mkdir()
        shutil.copy(self.t.sdk / f"app-{exe}", src / "bin" / name)
        (src / "bin" / name).chmod(0o755)
        shutil.copy(self.t.sdk / "librampart.so.1", src / "lib" / "librampart.so.1")
        for rel, data in (extra or {}).items():
            (src / rel).write_bytes(data)
        (src / "app_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        pkg = self.work / f"{name}-{version}.pkg"
        self.t.rampart("image", "pack", src, "--out", pkg, "--name", name, "--type", "app",
                       "--version", version, "--svn", "1", "--component-id", manifest["ComponentId"],
                       show_out=False)
        self.t.rampart("image", "sign", pkg, "--key", "acme-app.key")
        self.t.rampart("repo", "add-target", "--dir", "repo", "--trust", "acme-app.pub",
                       "--tenant", "acme", "--key", "acme-app.key", pkg)
        return pkg

    def status_lines(self, d, keys):
        """`rampart-device status DIR`, only the lines named by keys."""
        p = self.t.run("rampart-device", "status", d.dir, show_out=False)
        self.out.show("\n".join(x for x in p.stdout.splitlines()
                                 if x.split(":", 1)[0].strip() in keys and not x.startswith("    ")))

    def manifest(self, name, args, caps):
        return {"SchemaVersion": 1, "Name": name, "ComponentId": IDS[name],
                "EntryPoint": f"/bin/{name}", "CmdArgs": args, "Capabilities": caps}

    def deploy(self, group, *images):
        p = self.t.rampart("deployment", "create", "--group", group, "--image", *images,
                           "--output", "json", show_out=False)
        dep = json.loads(p.stdout)["id"]
        self.say(f"deployment {dep}")
        return dep

    def dep_rows(self, dep):
        js = self.t.json("deployment", "show", dep)
        return {d["ueid"]: d for d in js.get("devices", [])}

    # ---- the scenario ----
    def run(self):
        s1 = self.step_service()
        self.step_provision(s1)
        self.step_boot()
        self.step_telemetry()
        self.step_crasher()
        self.step_os_update()
        self.step_attacks()

    def step_service(self):
        self.out.step("Start the security service and the MQTT broker")
        self.server = Server(self.t, self.procs, self.work / "server-data").start()
        self.say("the service made its TLS certificate, master key and SQLite store in server-data/")
        self.as_platform()
        self.t.rampart("login", "--server", self.server.url, "--token", self.server.token,
                       "--fingerprint", self.server.fingerprint, secret=self.server.token)
        p = self.t.rampart("tenant", "create", "acme", "--output", "json", show_out=False)
        js = json.loads(p.stdout)
        self.tenant = js["tenant"]["id"]
        admin = js["admin_token"]["token"]
        self.say(f"tenant acme: {self.tenant} (its certificate authority and first admin token)")
        self.as_tenant()
        self.t.rampart("login", "--server", self.server.url, "--token", admin,
                       "--fingerprint", self.server.fingerprint, secret=admin)
        self.t.rampart("ca", "download", "--out", "tenant-ca.pem")
        bundle = (self.work / "tenant-ca.pem").read_text()
        expect(bundle.count("BEGIN CERTIFICATE") >= 1, "the tenant CA bundle is empty")
        mq = self.work / "mqtt"
        mq.mkdir()
        self.broker = Broker(self.t, self.procs, mq)
        self.broker.make_certs()
        self.broker.start(self.work / "tenant-ca.pem", MOSQUITTO)
        self.say("Mosquitto trusts the tenant's CA bundle (and the operator's CA for mosquitto_sub);"
                 " no passwords")

    def step_provision(self, _):
        self.out.step("Manufacture three devices and claim them into the Field Test group")
        self.as_platform()
        self.say("the platform operator's offline update repository; its targets key signs OS "
                 "images and is fused into every device")
        self.t.rampart("repo", "server-keys", "--out", "server-keys", show_out=False)
        self.t.rampart("repo", "init", "--dir", "repo",
                       *[a for r in ("snapshot", "timestamp", "director")
                         for a in ("--online-key", f"{r}=server-keys/{r}.pub.pem")], show_out=False)
        self.t.run("openssl", "pkey", "-in", "repo/keys/targets.pem", "-pubout", "-out",
                   "platform.pub")
        self.t.rampart("keys", "generate", "--out", "acme-app.key", "--pub", "acme-app.pub",
                       who="acme")
        self.t.rampart("repo", "delegate", "--dir", "repo", "--tenant", "acme", "--key",
                       "acme-app.pub", *[a for c in IDS.values() for a in ("--component", c)],
                       show_out=False)
        self.t.rampart("repo", "upload", "root", "repo/metadata/1.root.json")
        self.t.rampart("repo", "bind", "acme", self.tenant)

        self.say("the manufacturer's CAs, and three devices: a unique device secret fused into "
                 "each, its DeviceID certified")
        self.t.rampart("keys", "mfg-init", "--out", "mfg")
        (self.work / "devices").mkdir()
        for i in (1, 2, 3):
            self.t.run("rampart-device", "provision", f"devices/dev{i}", "--mfg-ca", "mfg",
                       "--records", "records.jsonl", "--platform-key", "platform.pub")
        recs = [json.loads(x) for x in (self.work / "records.jsonl").read_text().splitlines()]
        expect(len(recs) == 3, f"{len(recs)} registration records, expected 3")
        for i, r in enumerate(recs, 1):
            d = Device(self.t, self.procs, f"dev{i}", self.work / "devices" / f"dev{i}", DEVICE_ENV)
            d.ueid = r["ueid"]
            self.devices.append(d)
        self.t.rampart("manufacturer", "add", "--root", "mfg/root-ca.pem", "--name", "Demo Devices")
        self.t.rampart("device", "register", "--records", "records.jsonl")

        self.as_tenant()
        p = self.t.rampart("product", "create", "weather-station", "--output", "json", show_out=False)
        prod = json.loads(p.stdout)
        self.groups = {g["name"]: g["id"] for g in prod["device_groups"]}
        self.say(f"product weather-station: groups " +
                 ", ".join(f"{n} ({i})" for n, i in self.groups.items()))
        expect(set(self.groups) >= {"Development", "Field Test", "Production"},
               "the product's default groups are missing")
        for d in self.devices:
            self.t.rampart("device", "claim", d.ueid, "--group", self.groups["Field Test"],
                           show_out=False)
        lst = self.t.json("device", "list")["items"]
        mine = {x["ueid"]: x for x in lst}
        expect(all(mine.get(d.ueid, {}).get("group_id") == self.groups["Field Test"]
                   for d in self.devices), "not every device is in Field Test")
        self.say("3 devices claimed into Field Test")

    def publish_os(self, version, svn):
        self.as_platform()
        pkg = f"os-{version}.pkg"
        p = self.t.run("rampart-device", "make-os", "--out", pkg, "--version", version, "--svn",
                       str(svn), "--key", "repo/keys/targets.pem", "--tuf-root",
                       "repo/metadata/1.root.json")
        fwid = re.search(r"image digest \(fwid\): ([0-9a-f]{64})", p.stdout).group(1)
        self.t.rampart("repo", "add-target", "--dir", "repo", "--trust", "platform.pub", pkg)
        img = self.upload(pkg, "repo/metadata/targets.json")
        self.as_tenant()
        return {"pkg": pkg, "fwid": fwid, "id": img, "svn": svn, "version": version}

    def step_boot(self):
        self.out.step("Boot the devices: each attests and receives its certificates")
        self.say("OS 1.0.0 (rampartd) signed with the platform key, listed in the platform "
                 "targets and uploaded: its measurement is now a released reference value")
        self.os1 = self.publish_os("1.0.0", 1)
        for d in self.devices:
            self.t.run("rampart-device", "install-os", d.dir, "--slot", "a", self.os1["pkg"],
                       show_out=False, quiet=d is not self.devices[0])
            self.t.run("rampart-device", "configure", d.dir, "--server", self.server.url,
                       "--tenant", self.tenant, "--server-ca", "server-data/server.crt",
                       quiet=d is not self.devices[0], show_out=False)
        self.say("(the same for dev2 and dev3)")
        for d in self.devices:
            d.start()
        self.wait(lambda: all(d.attested("1.0.0") for d in self.devices),
                  "three devices to attest", log=self.devlogs)
        for d in self.devices:
            s = d.status()
            self.say(f"{d.name}: {s['state']} ({s['reason']}), OS {s['os_version']} fwid "
                     f"{s['fwid'][:16]}..., certificates: {', '.join(sorted(s['certificates']))}")
            expect(s["fwid"] == self.os1["fwid"], f"{d.name} measured an unexpected OS")
            expect("PRIVATE KEY" not in "".join(
                f.read_text(errors="replace") for f in (d.dir / "data" / "certs").glob("*")),
                "a private key in the normal world's files")
        self.t.rampart("device", "list")
        lst = {x["ueid"]: x for x in self.t.json("device", "list")["items"]}
        for d in self.devices:
            row = lst.get(d.ueid, {})
            expect(row.get("last_reason_code") == "ok" and row.get("last_attestation_at"),
                   f"{d.name} is not shown attested by the service: {row}")
        self.say("the service shows all three attested; their keys never left rampart-boot")

    def step_telemetry(self):
        self.out.step("Sign and deploy the telemetry app; read its messages at the broker")
        self.as_tenant()
        port = self.broker.port
        m = self.manifest("telemetry", ["127.0.0.1", str(port), "etc/broker-ca.pem", TOPIC, "5", "300"],
                          {"AllowedConnections": [f"127.0.0.1:{port}"], "DeviceAuthentication": True})
        self.say(f"manifest: may connect only to 127.0.0.1:{port}; DeviceAuthentication (TLS with "
                 "the device's key, held by the monitor)")
        pkg = self.app_package("telemetry", "1.0", "telemetry", m,
                               {"etc/broker-ca.pem": (self.broker.d / "broker-ca.pem").read_bytes()})
        self.tele = self.upload(pkg, "repo/metadata/acme.json")
        sub_out = self.work / "mqtt" / "received.txt"
        self.sub = self.broker.subscribe("devices/#", sub_out)
        self.wait(lambda: "as operator-" in self.broker.log_text(), "mosquitto_sub to connect")
        self.dep_ft = self.deploy(self.groups["Field Test"], self.tele)
        self.wait(lambda: all(d.apps().get("telemetry", {}).get("state") == "running"
                              for d in self.devices), "every device to install and start telemetry",
                  log=self.devlogs)
        self.wait(lambda: all("telemetry: done" in d.app_log("telemetry") for d in self.devices),
                  "the devices to publish", log=lambda: "\n".join(d.app_log("telemetry")
                                                                   for d in self.devices))
        self.wait(lambda: sub_out.read_text().count(TOPIC) >= 15, "15 messages at mosquitto_sub",
                  timeout=20, log=lambda: sub_out.read_text())
        self.say("mosquitto_sub received:")
        lines = sub_out.read_text().splitlines()
        self.out.show("\n".join(lines[:6] + ([f"... ({len(lines)} messages)"] if len(lines) > 6 else [])))
        ids, pubs = self.broker.identities(), self.broker.publishers(TOPIC)
        self.say("the broker's log: who sent them, by certificate (CN = the device's UEID):")
        for d in self.devices:
            cids = [c for c, u in ids.items() if u == d.ueid]
            n = sum(pubs.get(c, 0) for c in cids)
            self.out.show(f"{d.name}: client {', '.join(cids) or '-'} authenticated as {d.ueid[:24]}..., "
                          f"{n} messages")
            expect(n == 5, f"{d.name}: {n} messages at the broker from its certificate, expected 5")
        self.wait(lambda: all((self.dep_rows(self.dep_ft).get(d.ueid) or {}).get("status") ==
                              "installed" for d in self.devices), "the deployment to show installed")
        self.t.rampart("deployment", "show", self.dep_ft)

    def step_crasher(self):
        self.out.step("Deploy the crasher app to one device; read the failure bucket")
        self.as_tenant()
        d3 = self.devices[2]
        self.say(f"{d3.name} moves to the Production group, whose deployment adds crasher")
        self.t.rampart("device", "move", d3.ueid, "--group", self.groups["Production"], show_out=False)
        self.crash_mode, self.crash_sig = "segv", "SIGSEGV"
        m = self.manifest("crasher", [self.crash_mode, "20"], {"Gpio": [20]})
        pkg = self.app_package("crasher", "1.0", "crasher", m)
        self.crasher = self.upload(pkg, "repo/metadata/acme.json")
        self.prod_images = [self.tele, self.crasher]
        self.dep_prod = self.deploy(self.groups["Production"], *self.prod_images)
        self.wait(lambda: "crasher: waiting for GPIO 20" in d3.app_log("crasher"),
                  "crasher to start on dev3", log=self.devlogs)
        expect(all("crasher" not in d.apps() for d in self.devices[:2]),
               "crasher reached a device outside Production")
        self.say(f"the emulated board's GPIO 20 tells crasher to crash ({self.crash_sig}); the supervisor "
                 "restarts it with back-off, the others keep running")
        (d3.dir / "data" / "board" / "gpio" / "20").write_text("1\n")
        self.wait(lambda: d3.log().count("app 'crasher': restart") >= 2, "two crashes of crasher",
                  log=d3.log)
        (d3.dir / "data" / "board" / "gpio" / "20").write_text("0\n")
        expect(d3.apps().get("telemetry", {}).get("starts") == 1, "telemetry was restarted too")

        def bucket():
            items = self.t.json("failures", "list")["items"]
            bs = [b for b in items if b.get("component_id") == IDS["crasher"]]
            return bs if sum(b["hits"] for b in bs) >= 2 else None
        bs = self.wait(bucket, "both crashes to reach the service", log=d3.log)
        self.t.rampart("failures", "list")
        expect(len(bs) == 1, f"{len(bs)} buckets for crasher, expected 1")
        b = bs[0]
        expect(b["devices"] == 1 and b["hits"] >= 2, f"bucket counts: {b}")
        p = self.t.rampart("failures", "show", b["id"])
        one = self.t.json("failures", "show", b["id"])
        frames = one["samples"][0]["frames"]
        fns = [f.get("function") for f in frames if f.get("module") == "crasher"]
        expect(fns[:2] == ["crash_now", "main"], f"backtrace not symbolized: {frames}")
        expect(self.crash_sig in b["title"], f"bucket title: {b['title']}")
        self.say(f"one bucket, {b['hits']} hits on 1 device; {self.crash_sig}, frames in the app: "
                 f"{' <- '.join(fns[:2])}")

    def step_os_update(self):
        self.out.step("Release OS 2.0.0: trial boot, attestation, confirmation, higher floor")
        floors = {d.name: d.floor() for d in self.devices}
        self.say("anti-rollback floors now (rampart-device info: counter os): " +
                 ", ".join(f"{n}={f}" for n, f in floors.items()))
        self.os2 = self.publish_os("2.0.0", 2)
        self.dep_ft = self.deploy(self.groups["Field Test"], self.os2["id"], self.tele)
        self.dep_prod = self.deploy(self.groups["Production"], self.os2["id"], *self.prod_images)
        self.wait(lambda: all(d.attested("2.0.0") and not d.updates().get("pending_os")
                              and d.floor() == 2 for d in self.devices),
                  "three devices to boot 2.0.0, attest and confirm", log=self.devlogs)
        for d in self.devices:
            log = d.log()
            for needle in ("installed into slot b as a trial", "attested and confirmed in slot b",
                           "anti-rollback floor now svn 2"):
                expect(needle in log, f"{d.name}: no '{needle}' in its log")
            line = next(x for x in log.splitlines() if "attested and confirmed in slot b" in x)
            self.out.show(f"{d.name}: {line.split('rampartd: ')[-1].strip()}")
            s = d.status()
            expect(s["fwid"] == self.os2["fwid"], f"{d.name}: attested with another measurement")
        self.status_lines(self.devices[0], ("state", "reason", "os_version", "svn", "fwid", "bootcount"))
        after = {d.name: d.floor() for d in self.devices}
        self.say("floors after: " + ", ".join(f"{n}={f}" for n, f in after.items()) +
                 " (raised only after the new OS attested)")
        expect(all(f == 2 for f in after.values()) and all(f < 2 for f in floors.values()),
               f"floors before {floors}, after {after}")
        self.t.run("rampart-device", "info", self.devices[0].dir)

    def step_attacks(self):
        self.out.step("Attacks, each refused with its reason")
        self.as_tenant()
        # a) a tampered image upload
        self.say("a) an app image changed after it was signed and listed (one byte of its payload)")
        m = self.manifest("telemetry", ["127.0.0.1", str(self.broker.port), "etc/broker-ca.pem",
                                        TOPIC, "5", "300"],
                          {"AllowedConnections": [f"127.0.0.1:{self.broker.port}"],
                           "DeviceAuthentication": True})
        pkg = self.app_package("telemetry", "1.1", "telemetry", m,
                               {"etc/broker-ca.pem": (self.broker.d / "broker-ca.pem").read_bytes()})
        data = bytearray(pkg.read_bytes())
        data[-200] ^= 0x01
        bad = self.work / "telemetry-1.1-tampered.pkg"
        bad.write_bytes(bytes(data))
        p = self.t.rampart("image", "upload", bad.name, "--targets", "repo/metadata/acme.json",
                           expect_rc=1)
        expect("refused" in p.stderr or "differs" in p.stderr, "no reason shown")

        # b) a rollback deployment
        self.say("b) a deployment of the older OS 1.0.0 to Field Test")
        dep = self.deploy(self.groups["Field Test"], self.os1["id"], self.tele)
        ft = [d for d in self.devices[:2]]
        self.wait(lambda: all((self.dep_rows(dep).get(d.ueid) or {}).get("status") == "failed"
                              for d in ft), "the devices to refuse and report it", log=self.devlogs)
        self.t.rampart("deployment", "show", dep)
        for d in ft:
            row = self.dep_rows(dep)[d.ueid]
            expect("rollback refused" in json.dumps(row), f"{d.name}: {row}")
            self.out.show(f"{d.name}: {row['status']}: {row.get('reason') or json.dumps(row)}")
            expect(d.status().get("os_version") == "2.0.0", f"{d.name} left OS 2.0.0")
        self.deploy(self.groups["Field Test"], self.os2["id"], self.tele)

        # c) an app reaching an undeclared host
        self.say("c) an app whose manifest allows only the broker tries another host")
        trap = socket.socket()
        trap.bind(("127.0.0.1", 0))
        trap.listen(8)
        trap.settimeout(0.1)
        tport = trap.getsockname()[1]
        accepted = []

        def watch():
            end = time.monotonic() + 60
            while time.monotonic() < end and not stop.is_set():
                try:
                    c, _ = trap.accept()
                    accepted.append(1)
                    c.close()
                except OSError:
                    pass
        stop = threading.Event()
        th = threading.Thread(target=watch, daemon=True)
        th.start()
        m = self.manifest("uplink", ["127.0.0.1", str(tport), "etc/broker-ca.pem", TOPIC, "1"],
                          {"AllowedConnections": [f"127.0.0.1:{self.broker.port}"],
                           "DeviceAuthentication": True})
        pkg = self.app_package("uplink", "1.0", "telemetry", m,
                               {"etc/broker-ca.pem": (self.broker.d / "broker-ca.pem").read_bytes()})
        up = self.upload(pkg, "repo/metadata/acme.json")
        d3 = self.devices[2]
        self.deploy(self.groups["Production"], self.os2["id"], *self.prod_images, up)
        self.wait(lambda: "connecting to 127.0.0.1" in d3.app_log("uplink"),
                  "uplink to try 127.0.0.1:%d" % tport, log=d3.log)
        stop.set()
        th.join()
        trap.close()
        line = next(x for x in d3.app_log("uplink").splitlines() if "connecting to" in x)
        self.out.show(f"uplink's log: {line.strip()}")
        deny = [x for x in d3.log().splitlines() if "denied (not declared in the manifest)" in x]
        for x in deny[:1]:
            self.out.show(f"dev3's log: {x.strip()}")
        expect("Permission denied" in line or "not permitted" in line, f"not refused: {line}")
        expect(not accepted, "the undeclared host received a connection")

        # d) a forged device
        self.say("d) a counterfeit device: its own manufacturer CA, claiming to be a Rampart device")
        self.t.rampart("keys", "mfg-init", "--out", "fake-mfg", show_out=False)
        self.t.run("rampart-device", "provision", "devices/fake", "--mfg-ca", "fake-mfg",
                   "--records", "fake-records.jsonl", "--platform-key", "platform.pub", show_out=False)
        fake = Device(self.t, self.procs, "fake", self.work / "devices" / "fake", DEVICE_ENV)
        self.t.run("rampart-device", "install-os", fake.dir, "--slot", "a", self.os2["pkg"],
                   show_out=False)
        self.t.run("rampart-device", "configure", fake.dir, "--server", self.server.url, "--tenant",
                   self.tenant, "--server-ca", "server-data/server.crt", show_out=False)
        fake.start()
        self.devices.append(fake)
        st = self.wait(lambda: (lambda s: s if s.get("state") not in (None, "", "attesting", "starting")
                                and s.get("reason") not in (None, "") else None)(fake.status()),
                       "the forged device's attempt", log=fake.log)
        self.status_lines(fake, ("state", "reason", "message", "certificates"))
        expect(st["state"] != "attested", "the forged device was attested")
        fake.stop()
        lst = {x["ueid"] for x in self.t.json("device", "list")["items"]}
        expect(len(lst) == 3, f"the tenant has {len(lst)} devices, expected 3")

    def cleanup(self):
        for d in self.devices:
            d.stop()
        self.procs.stop_all()
        self.reap_leftovers()

    def reap_leftovers(self, grace=15.0):
        """A device's normal world gets SIGTERM when its boot stage dies and
        shuts down on its own (apps first); wait for every process still
        running from the work dir, then kill what is left, so "stopped" is
        true before the files go."""
        deadline = time.monotonic() + grace
        while True:
            left = processes_under(self.work)
            if not left:
                return
            if time.monotonic() > deadline:
                for pid in left:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.2)
                return
            time.sleep(0.1)


def processes_under(work: pathlib.Path) -> list:
    """Pids whose command line names a path inside the work dir."""
    needle = str(work).encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if needle in f.read():
                    pids.append(int(entry))
        except OSError:
            pass
    return pids


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build", help="meson build directory (default: build)")
    ap.add_argument("--non-interactive", action="store_true",
                    help="plain progress lines (the default without a terminal)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (for debugging)")
    args = ap.parse_args()
    build = pathlib.Path(args.build)
    if not build.is_absolute():
        build = TOP / build
    work = pathlib.Path(tempfile.mkdtemp(prefix="rampart-demo-"))
    demo = Demo(build, work)
    if args.non_interactive:
        demo.out.tty = False
    missing = demo.t.missing()
    if missing:
        shutil.rmtree(work, ignore_errors=True)
        print(f"demo: {', '.join(missing)} is not built (run `make` first)", file=sys.stderr)
        return 1
    for prog in (MOSQUITTO, shutil.which("mosquitto_sub"), shutil.which("openssl")):
        if not prog or not os.access(prog, os.X_OK):
            shutil.rmtree(work, ignore_errors=True)
            print("demo: mosquitto, mosquitto_sub and openssl are needed (make deps)", file=sys.stderr)
            return 1

    # SIGTERM takes the same clean-up path as Ctrl-C
    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    t0 = time.monotonic()
    rc = 0
    try:
        print(f"Rampart demo (work dir {work}, removed at the end)", flush=True)
        demo.run()
    except StepFailed as e:
        print(f"\nDEMO FAILED at step {demo.out.step_no}: {e}", file=sys.stderr)
        rc = 1
    except KeyboardInterrupt:
        print("\ndemo interrupted; cleaning up", file=sys.stderr)
        rc = 130
    except Exception:  # a bug of the demo itself: still clean up, and say where
        traceback.print_exc()
        print(f"\nDEMO FAILED at step {demo.out.step_no}", file=sys.stderr)
        rc = 1
    finally:
        # a second Ctrl-C must not cut the clean-up short
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        if rc != 130:
            demo.out.step("Stop everything and remove the temporary files")
        demo.cleanup()
        # a sanitizer build's report in a service or device log fails the demo
        for log in [work / "server.log", *sorted((work / "devices").glob("*.log"))]:
            try:
                text = log.read_text(errors="replace")
            except OSError:
                continue
            bad = [x for x in text.splitlines()
                   if "ERROR: AddressSanitizer" in x or "ERROR: LeakSanitizer" in x or "runtime error:" in x]
            if bad and rc == 0:
                print(f"\nDEMO FAILED: sanitizer report in {log.name}:\n{bad[0]}", file=sys.stderr)
                rc = 1
        if args.keep:
            print(f"    kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
            if rc != 130:
                demo.say(f"stopped the service, the broker and the devices; removed {work}")
    if rc == 0:
        print(f"\nDemo complete: all {demo.out.step_no} steps did what they claim "
              f"({time.monotonic() - t0:.0f} s).")
    return rc


if __name__ == "__main__":
    sys.exit(main())

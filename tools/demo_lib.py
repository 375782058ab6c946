"""Building blocks of the Rampart demo (tools/demo.py): narration, the
commands it runs (shown as a person would type them), and the processes it
starts — rampart-server, Mosquitto, emulated devices — each stopped by its
own id when the demo ends. Python standard library only; every Rampart
action goes through the real binaries of a build directory."""
import json
import os
import pathlib
import pwd
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
import time


class StepFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Narrator:
    """Prints the steps. On a terminal, waits show a live counter; without
    one (CI, `make demo | tee`), a line every few seconds."""

    def __init__(self):
        self.tty = sys.stdout.isatty()
        self.step_no = 0

    def step(self, title):
        self.step_no += 1
        print(f"\n==> {self.step_no}. {title}", flush=True)

    def say(self, text=""):
        print(f"    {text}", flush=True)

    def show(self, text):
        for line in text.rstrip("\n").splitlines():
            print(f"      {line}", flush=True)

    def wait(self, pred, what, timeout, poll=0.2, log=None):
        """Calls pred() until it returns something true; shows progress."""
        start = time.monotonic()
        last_note = start
        shown = False
        while True:
            v = pred()
            now = time.monotonic()
            if v:
                if self.tty and shown:
                    print(f"\r    ... {what}: done in {now - start:.0f} s" + " " * 10, flush=True)
                return v
            if now - start > timeout:
                if self.tty and shown:
                    print(flush=True)
                tail = ""
                if log:
                    tail = "\n" + "\n".join(log().splitlines()[-25:])
                raise StepFailed(f"timed out after {timeout} s waiting for {what}{tail}")
            if self.tty:
                print(f"\r    ... waiting for {what} ({now - start:.0f} s)", end="", flush=True)
                shown = True
            elif now - last_note >= 5:
                print(f"    ... still waiting for {what} ({now - start:.0f} s)", flush=True)
                last_note = now
            time.sleep(poll)


def expect(cond, what):
    if not cond:
        raise StepFailed(what)


class Tools:
    """The built programs and how the demo runs them: in the work dir, with
    the CLI's configuration per identity (platform operator, tenant admin)."""

    def __init__(self, build: pathlib.Path, work: pathlib.Path, out: Narrator):
        self.build, self.work, self.out = build, work, out
        self.bin = {
            "rampart": build / "src" / "cli" / "rampart",
            "rampart-server": build / "src" / "server" / "rampart-server",
            "rampart-device": build / "src" / "boot" / "rampart-device",
        }
        self.sdk = build / "src" / "sdk"
        self.who = "platform"

    def missing(self):
        return [str(p) for p in self.bin.values() if not os.access(p, os.X_OK)]

    def env(self, who=None, extra=None):
        e = dict(os.environ)
        e["XDG_CONFIG_HOME"] = str(self.work / "config" / (who or self.who))
        e.pop("RAMPART_CONFIG", None)
        e.pop("RP_FAULT", None)
        e.update(extra or {})
        return e

    def rel(self, a):
        s = str(a)
        w = str(self.work) + "/"
        return s[len(w):] if s.startswith(w) else s

    def run(self, prog, *args, who=None, expect_rc=0, quiet=False, show_out=True, input=None,
            timeout=180, secret=None):
        """Runs a program in the work dir, echoes the command (and its
        output), checks the exit code. `secret` is masked in the echo."""
        path = self.bin.get(prog, prog)
        shown = " ".join(shlex.quote(self.rel(a)) for a in (prog, *args))
        if secret:
            shown = shown.replace(secret, secret[:8] + "...")
        if not quiet:
            print(f"    $ {shown}", flush=True)
        p = subprocess.run([str(path), *[str(a) for a in args]], cwd=self.work, capture_output=True,
                           text=True, timeout=timeout, env=self.env(who), input=input)
        if not quiet and show_out:
            text = p.stdout + p.stderr
            if secret:
                text = text.replace(secret, secret[:8] + "...")
            self.out.show(text)
        if expect_rc is not None and p.returncode != expect_rc:
            raise StepFailed(f"'{shown}' exited {p.returncode}, expected {expect_rc}\n"
                             f"{p.stdout}{p.stderr}")
        return p

    def rampart(self, *args, **kw):
        return self.run("rampart", *args, **kw)

    def json(self, *args, who=None):
        p = self.run("rampart", *args, "--output", "json", who=who, quiet=True)
        return json.loads(p.stdout)


class Procs:
    """Every long-running process the demo starts, in its own process group,
    stopped (SIGTERM, then SIGKILL) by its own id."""

    def __init__(self):
        self.procs = []

    def start(self, name, argv, **kw):
        kw.setdefault("start_new_session", True)
        p = subprocess.Popen([str(a) for a in argv], **kw)
        self.procs.append((name, p))
        return p

    def stop(self, p, timeout=20):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        # whatever is left of the group (a device's apps, a stuck child)
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if p.poll() is None:
            p.wait(timeout=10)
        self.procs = [(n, q) for n, q in self.procs if q is not p]

    def stop_all(self):
        for _, p in reversed(list(self.procs)):
            self.stop(p)


class Server:
    """rampart-server on a free loopback port with a fresh SQLite data dir."""

    def __init__(self, tools: Tools, procs: Procs, data: pathlib.Path):
        self.t, self.procs, self.data = tools, procs, data
        self.proc = None
        self.url = self.fingerprint = self.token = None
        self.log = data.parent / "server.log"

    def start(self, timeout=30):
        self._log = open(self.log, "a")
        port = free_port()
        argv = [self.t.bin["rampart-server"], "--listen", f"127.0.0.1:{port}", "--data", self.data]
        print(f"    $ rampart-server --listen 127.0.0.1:{port} --data {self.t.rel(self.data)}", flush=True)
        self.proc = self.procs.start("rampart-server", argv, stdout=subprocess.PIPE, stderr=self._log,
                                     cwd=self.t.work)
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        pending = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise StepFailed("rampart-server did not get ready:\n" + self.log.read_text())
            chunk = os.read(fd, 4096)
            if not chunk:
                raise StepFailed("rampart-server exited at start:\n" + self.log.read_text())
            pending += chunk
            while b"\n" in pending:
                raw, pending = pending.split(b"\n", 1)
                line = raw.decode(errors="replace")
                m = re.search(r"bootstrap platform token .*: (rpt_\S+)", line)
                if m:
                    self.token = m.group(1)
                    line = line.replace(self.token, self.token[:8] + "...")
                print(f"      {line}", flush=True)
                m = re.search(r"listening on (https://\S+)", line)
                if m and not self.url:
                    self.url = m.group(1)
                m = re.search(r"fingerprint (\S+)", line)
                if m:
                    self.fingerprint = m.group(1)
                if line.startswith("rampart-server: ready"):
                    expect(self.url and self.fingerprint and self.token,
                           "rampart-server did not print its URL, fingerprint and token")
                    return self

    def stop(self):
        if self.proc:
            self.procs.stop(self.proc)
            self.proc = None


class Broker:
    """Mosquitto on a free loopback port: TLS with a server certificate from
    a demo broker CA, client certificates required and checked against the
    tenant's CA bundle plus the operator's own CA; the username is the
    certificate's CN."""

    def __init__(self, tools: Tools, procs: Procs, d: pathlib.Path):
        self.t, self.procs, self.d = tools, procs, d
        self.port = free_port()
        self.log = d / "mosquitto.log"
        self.proc = None

    def openssl(self, *args):
        p = subprocess.run(["openssl", *[str(a) for a in args]], cwd=self.d, capture_output=True,
                           text=True, timeout=60)
        if p.returncode != 0:
            raise StepFailed(f"openssl {' '.join(map(str, args))}: {p.stderr}")

    def make_certs(self):
        """The broker's CA and server certificate, and an operator CA with
        one client certificate for mosquitto_sub."""
        d = self.d
        for ca, cn in (("broker-ca", "Demo broker CA"), ("operator-ca", "Demo operator CA")):
            self.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                         "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2",
                         "-subj", f"/CN={cn}", "-addext", "basicConstraints=critical,CA:TRUE",
                         "-addext", "keyUsage=critical,keyCertSign")
        for name, ca, cn, ext in (
                ("broker", "broker-ca", "localhost",
                 "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
                ("operator", "operator-ca", "operator", "extendedKeyUsage=clientAuth")):
            self.openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                         "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}")
            (d / f"{name}.ext").write_text(ext + "\n")
            self.openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey",
                         f"{ca}.key", "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
                         "-extfile", f"{name}.ext")

    def start(self, tenant_ca: pathlib.Path, exe="/usr/sbin/mosquitto"):
        d = self.d
        # clients: the tenant's devices (its CA bundle) and the operator
        (d / "clients-ca.pem").write_text(tenant_ca.read_text() + (d / "operator-ca.pem").read_text())
        conf = d / "mosquitto.conf"
        # Mosquitto started as root drops to user "mosquitto", which could
        # not read this private directory: keep the demo's own user
        user = pwd.getpwuid(os.getuid()).pw_name
        conf.write_text(f"""per_listener_settings false
allow_anonymous false
user {user}
log_dest file {self.log}
log_type all
persistence false
listener {self.port} 127.0.0.1
cafile {d / 'clients-ca.pem'}
certfile {d / 'broker.pem'}
keyfile {d / 'broker.key'}
require_certificate true
use_identity_as_username true
tls_version tlsv1.2
""")
        print(f"    $ mosquitto -c {self.t.rel(conf)}    # port {self.port}, "
              "require_certificate true, use_identity_as_username true", flush=True)
        self.proc = self.procs.start("mosquitto", [exe, "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.log.exists() and "Opening ipv4 listen socket" in self.log.read_text():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise StepFailed("mosquitto did not start:\n" +
                         (self.log.read_text() if self.log.exists() else ""))

    def subscribe(self, topic, out_path):
        """mosquitto_sub with the operator's client certificate; -v prints
        topic and message."""
        argv = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.port), "--cafile", "broker-ca.pem",
                "--cert", "operator.pem", "--key", "operator.key", "-t", topic, "-v", "-i",
                "operator-" + os.urandom(3).hex()]
        print(f"    $ {' '.join(argv)} &", flush=True)
        f = open(out_path, "w")
        return self.procs.start("mosquitto_sub", argv, stdout=f, stderr=subprocess.STDOUT, cwd=self.d)

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def identities(self):
        """client id -> certificate identity (the username Mosquitto took
        from the CN), from the broker's connection log."""
        return dict(re.findall(r"New client connected from \S+ as (\S+) \(.*?u'([^']+)'\)",
                               self.log_text()))

    def publishers(self, topic):
        """client ids that published on `topic`, with a count each."""
        out = {}
        for cid in re.findall(rf"Received PUBLISH from (\S+) \(.*?'{re.escape(topic)}'", self.log_text()):
            out[cid] = out.get(cid, 0) + 1
        return out

    def stop(self):
        if self.proc:
            self.procs.stop(self.proc)
            self.proc = None


class Device:
    """One emulated device directory and its `rampart-device run`."""

    def __init__(self, tools: Tools, procs: Procs, name: str, path: pathlib.Path, env: dict):
        self.t, self.procs, self.name, self.dir = tools, procs, name, path
        self.env = env
        self.log_path = path.parent / f"{name}.log"
        self.proc = None
        self.ueid = None

    def start(self, quiet=False):
        if not quiet:
            print(f"    $ rampart-device run {self.t.rel(self.dir)} &", flush=True)
        self._log = open(self.log_path, "a")
        self.proc = self.procs.start(self.name, [self.t.bin["rampart-device"], "run", self.dir],
                                     stdout=self._log, stderr=self._log,
                                     env=self.t.env(extra=self.env), cwd=self.t.work)
        return self

    def stop(self):
        if self.proc:
            self.procs.stop(self.proc)
            self.proc = None
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
        return self._json("status.json") or {}

    def updates(self):
        return self._json("updates/status.json") or {}

    def apps(self):
        st = self._json("apps/status.json")
        return {a.get("name"): a for a in (st if isinstance(st, list) else []) if isinstance(a, dict)}

    def app_log(self, name):
        p = self.dir / "data" / "apps" / "state" / "log" / f"{name}.log"
        try:
            return p.read_text(errors="replace")
        except OSError:
            return ""

    def floor(self):
        p = self.t.run("rampart-device", "info", self.dir, quiet=True)
        m = re.search(r"counter os: (\d+)", p.stdout)
        return int(m.group(1)) if m else 0

    def attested(self, version=None):
        s = self.status()
        return (s.get("state") == "attested" and s.get("running") is not False and
                (version is None or s.get("os_version") == version))

"""Reusable rampart-server fixtures for the integration suite.

`server` starts a real rampart-server on a free loopback port with its own
data directory, waits for /healthz, and parses what it prints (URL, the
certificate fingerprint and public-key pin, the bootstrap platform token).
It is stopped with SIGTERM at the end of the test (and must exit 0).

`make_server(*args)` does the same with extra command-line flags.
`tenant_admin` creates a tenant and gives its id and admin token.

Use in a test file:  from server_fixture import *  (pytest picks the
fixtures up from the module namespace).
"""
import os
import pathlib
import re
import select
import signal
import sqlite3
import subprocess
import time
import warnings

import pytest
import requests
import urllib3

from conftest import binary

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)

START_TIMEOUT = 30


class Server:
    def __init__(self, data_dir, args=(), log_path=None):
        self.data_dir = pathlib.Path(data_dir)
        self.args = list(args)
        self.log_path = pathlib.Path(log_path or (self.data_dir.parent / f"{self.data_dir.name}.log"))
        self.proc = None
        self.url = None
        self.port = None
        self.fingerprint = None
        self.pin = None
        self.bootstrap_token = None
        self.session = requests.Session()
        self.session.verify = False

    # ---- process control ----
    def start(self, listen="127.0.0.1:0"):
        assert self.proc is None, "already running"
        self._log = open(self.log_path, "a")
        cmd = [binary("rampart-server"), "--listen", listen, "--data", str(self.data_dir)] + self.args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log)
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + START_TIMEOUT
        lines, pending = [], b""
        ready = False
        while not ready:
            left = deadline - time.monotonic()
            r = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
            if not r:
                self.proc.kill()
                self.proc.wait()
                self.proc = None
                raise AssertionError(f"server did not get ready: {lines}\n{self.log()}")
            chunk = os.read(fd, 4096)
            if not chunk:
                rc = self.proc.wait()
                self.proc = None
                raise AssertionError(f"server exited {rc} at start: {lines}\n{self.log()}")
            pending += chunk
            while b"\n" in pending:
                raw, pending = pending.split(b"\n", 1)
                line = raw.decode()
                lines.append(line)
                m = re.search(r"listening on (https://\S+)", line)
                if m and not self.url:
                    self.url = m.group(1)
                    self.port = int(self.url.rsplit(":", 1)[1])
                m = re.search(r"fingerprint (\S+)", line)
                if m:
                    self.fingerprint = m.group(1)
                m = re.search(r"public key pin (\S+)", line)
                if m:
                    self.pin = m.group(1)
                m = re.search(r"bootstrap platform token .*: (rpt_\S+)", line)
                if m:
                    self.bootstrap_token = m.group(1)
                if line.startswith("rampart-server: ready"):
                    ready = True
        self.start_lines = lines
        # /healthz answers once the loop runs
        for _ in range(100):
            try:
                if self.api("GET", "/healthz", timeout=5).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise AssertionError("server never answered /healthz\n" + self.log())

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stops the server; returns its exit code (None if it was not running)."""
        if not self.proc:
            return None
        p, self.proc = self.proc, None
        self.session.close()
        self.session = requests.Session()
        self.session.verify = False
        if p.poll() is None:
            p.send_signal(sig)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise AssertionError(f"server ignored signal {sig} for {timeout}s\n" + self.log())
        p.stdout.close()
        self._log.close()
        self.url = None
        log = self.log_path.read_text(errors="replace")
        for bad in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert bad not in log, f"sanitizer report in the server log:\n{log[-6000:]}"
        return rc

    def kill9(self):
        return self.stop(sig=signal.SIGKILL)

    def restart(self, listen="127.0.0.1:0"):
        self.stop()
        return self.start(listen)

    def log(self):
        try:
            return self.log_path.read_text()[-8000:]
        except OSError:
            return ""

    # ---- API ----
    def api(self, method, path, token=None, json=None, data=None, headers=None, timeout=30):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        if json is not None and data is None:
            import json as _json
            data = _json.dumps(json)
            h.setdefault("Content-Type", "application/json")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            return self.session.request(method, self.url + path, data=data, headers=h, timeout=timeout,
                                        verify=False)

    def create_tenant(self, name, token=None):
        r = self.api("POST", "/api/v1/tenants", token or self.bootstrap_token, json={"name": name})
        assert r.status_code == 201, r.text
        j = r.json()
        return j["tenant"]["id"], j["admin_token"]["token"]

    def create_token(self, admin_token, role, **extra):
        body = {"role": role, **extra}
        r = self.api("POST", "/api/v1/tokens", admin_token, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    # ---- store inspection ----
    @property
    def db_path(self):
        return self.data_dir / "rampart.db"

    def db_dump(self, exclude=("audit",)):
        """Every row of every table (except `exclude`), as sorted tuples:
        compare two dumps to prove that a request changed nothing."""
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            tables = [r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
            out = {}
            for t in sorted(tables):
                if t in exclude:
                    continue
                out[t] = sorted(repr(row) for row in con.execute(f'SELECT * FROM "{t}"'))
            return out
        finally:
            con.close()

    def db_query(self, sql, args=()):
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()


@pytest.fixture
def make_server(tmp_path):
    started = []

    def make(*args, data_dir=None, start=True):
        d = pathlib.Path(data_dir or tmp_path / f"data{len(started)}")
        s = Server(d, args)
        started.append(s)
        return s.start() if start else s

    yield make
    for s in started:
        rc = s.stop()
        assert rc in (None, 0), f"server exited {rc} on SIGTERM\n{s.log()}"


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture
def tenant_admin(server):
    """(tenant_id, admin_token) of a fresh tenant on `server`."""
    return server.create_tenant("tenant-" + os.urandom(4).hex())

"""Compartments, attacked from inside: every case starts real apps with
rampart-sandbox-run (a static probe program as the app) and asserts that the
attack is refused and that other apps keep running. Network tests use only
loopback: declared names resolve to 127.0.0.x / ::1 through a hosts file the
runtime reads (--hosts), and the servers are started here on free ports."""
import errno
import json
import os
import pathlib
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest

from conftest import BUILD, run

RUN = BUILD / "src" / "sandbox" / "rampart-sandbox-run"
PROBE = BUILD / "src" / "sandbox" / "sbx-probe"

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="compartments need root (namespaces, mounts, loop devices)")


@pytest.fixture(scope="module", autouse=True)
def built():
    assert RUN.exists(), f"{RUN} not built"
    assert PROBE.exists(), f"{PROBE} not built"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """Greets every connection with 'hello <local address>' on several
    loopback addresses at one port, and counts connections per address."""

    def __init__(self, addrs, port=None):
        self.port = port or free_port()
        self.hits = {a: 0 for a in addrs}
        self.socks = []
        for a in addrs:
            fam = socket.AF_INET6 if ":" in a else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((a, self.port))
            s.listen(64)
            self.socks.append((a, s))
            threading.Thread(target=self._serve, args=(a, s), daemon=True).start()

    def _serve(self, addr, s):
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            self.hits[addr] += 1
            try:
                c.sendall(f"hello {addr}\n".encode())
            finally:
                c.close()

    def close(self):
        for _, s in self.socks:
            s.close()


@pytest.fixture
def server():
    srv = Server(["127.0.0.2", "127.0.0.3", "127.0.0.4", "::1"])
    yield srv
    srv.close()


class Env:
    def __init__(self, tmp: pathlib.Path):
        self.tmp = tmp
        self.state = tmp / "state"
        self.hosts = tmp / "hosts"
        self.hosts.write_text("127.0.0.2 svc.test\n127.0.0.3 other.test\n::1 v6only.test\n")

    def app(self, name, caps=None, cid=None, setuid_copy=False):
        root = self.tmp / "apps" / name
        (root / "bin").mkdir(parents=True)
        shutil.copy(PROBE, root / "bin" / "probe")
        if setuid_copy:
            shutil.copy(PROBE, root / "bin" / "suid")
            os.chown(root / "bin" / "suid", 0, 0)
            os.chmod(root / "bin" / "suid", 0o4755)
        m = {"SchemaVersion": 1, "Name": name, "ComponentId": cid or str(uuid.uuid4()),
             "EntryPoint": "/bin/probe", "Capabilities": caps or {}}
        (root / "app_manifest.json").write_text(json.dumps(m))
        return root

    def args(self, root, *probe_args, opts=()):
        log = self.tmp / f"{root.name}.log"
        return [RUN, "--state", self.state, "--hosts", self.hosts, "--log", log, *opts, root, *probe_args]

    def run(self, root, *probe_args, opts=(), timeout=60):
        log = self.tmp / f"{root.name}.log"
        log.write_text("")
        p = run(self.args(root, *probe_args, opts=opts), check=False, timeout=timeout)
        return p.returncode, log.read_text(), p.stderr

    def start(self, root, *probe_args, opts=()):
        """Starts a long-running app; returns (Popen, init pid)."""
        log = self.tmp / f"{root.name}.log"
        log.write_text("")
        pidfile = self.tmp / f"{root.name}.pid"
        p = subprocess.Popen([str(a) for a in self.args(root, *probe_args, opts=("--pid-file", pidfile, *opts))],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(500):
            if pidfile.exists() and pidfile.read_text().strip() and "SLEEPING" in log.read_text():
                return p, int(pidfile.read_text())
            if p.poll() is not None:
                raise AssertionError(f"app {root.name} exited early: {p.communicate()}")
            time.sleep(0.01)
        p.kill()
        raise AssertionError(f"app {root.name} did not start")


@pytest.fixture
def env(tmp_path):
    return Env(tmp_path)


def assert_denied(rc, out, errno_names, what=""):
    assert rc == 1, f"{what}: expected refusal, got rc {rc}: {out}"
    assert any(f"ERR {e}" in out for e in errno_names), f"{what}: {out}"


def alive(p, pid):
    return p.poll() is None and os.path.exists(f"/proc/{pid}")


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


# --- baseline: what a compartment is -----------------------------------------

def test_app_runs_unprivileged_with_filters(env):
    a = env.app("plain")
    rc, out, err = env.run(a, "status")
    assert rc == 0, out + err
    lines = dict(l.split(":\t", 1) for l in out.splitlines() if ":\t" in l)
    uid = int(lines["Uid"].split()[0])
    assert 20000 <= uid < 30000 and lines["Uid"].split() == [str(uid)] * 4
    assert lines["Gid"].split() == [str(uid)] * 4
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(lines[cap], 16) == 0, f"{cap} = {lines[cap]}"
    assert lines["NoNewPrivs"].strip() == "1"
    assert lines["Seccomp"].strip() == "2"
    assert "landlock ABI" in err and "started" in err


def test_each_app_has_its_own_uid_stable_across_restarts(env):
    a, b = env.app("one"), env.app("two")
    ua = env.run(a, "id")[1]
    ub = env.run(b, "id")[1]
    assert ua != ub
    assert env.run(a, "id")[1] == ua


def test_stdout_and_stderr_go_to_the_app_log(env):
    a = env.app("noisy")
    rc, out, _ = env.run(a, "nosuchcommand")
    assert rc == 2
    assert "probe: unknown command 'nosuchcommand'" in out


def test_bad_manifest_is_refused_with_field_and_value(env):
    a = env.app("greedy", {"MutableStorage": {"SizeKB": 70000}})
    rc, out, err = env.run(a, "true")
    assert rc == 125
    assert "field 'Capabilities.MutableStorage.SizeKB' is 70000, the limit is 65536" in err


# --- egress ----------------------------------------------------------------

NET_CAPS = lambda port: {"AllowedConnections": [f"svc.test:{port}", "v6only.test:1"]}  # noqa: E731


def test_declared_host_and_port_connects(env, server):
    a = env.app("net", NET_CAPS(server.port))
    rc, out, _ = env.run(a, "connect", "svc.test", str(server.port))
    assert rc == 0, out
    assert "OK hello 127.0.0.2" in out
    assert server.hits["127.0.0.2"] == 1


def test_undeclared_host_by_ip_is_refused(env, server):
    a = env.app("net", NET_CAPS(server.port))
    rc, out, err = env.run(a, "connect", "127.0.0.3", str(server.port))
    assert_denied(rc, out, ["EACCES"], "undeclared IP")
    assert server.hits["127.0.0.3"] == 0
    assert f"tcp connect to 127.0.0.3:{server.port} denied" in err


def test_undeclared_host_by_name_is_refused(env, server):
    a = env.app("net", NET_CAPS(server.port))
    # the app cannot resolve names the runtime was not asked for ...
    rc, out, _ = env.run(a, "resolve", "other.test")
    assert_denied(rc, out, ["ENOENT"], "resolve undeclared name")
    # ... and cannot reach the address that name has
    rc, out, _ = env.run(a, "connect", "127.0.0.3", str(server.port))
    assert_denied(rc, out, ["EACCES"], "connect undeclared name's address")
    assert server.hits["127.0.0.3"] == 0


def test_ipv6_to_undeclared_address_is_refused(env, server):
    a = env.app("net", NET_CAPS(server.port))
    rc, out, _ = env.run(a, "connect", "::1", str(server.port))
    assert_denied(rc, out, ["EACCES"], "IPv6")
    # a declared IPv6 name, but not on this port
    rc, out, _ = env.run(a, "connect", "v6only.test", str(server.port))
    assert_denied(rc, out, ["EACCES"], "IPv6 declared name, other port")
    assert server.hits["::1"] == 0


def test_ipv6_declared_connects(env, server):
    a = env.app("net6", {"AllowedConnections": [f"v6only.test:{server.port}"]})
    rc, out, _ = env.run(a, "connect", "v6only.test", str(server.port))
    assert rc == 0 and "OK hello ::1" in out, out


def test_undeclared_port_is_refused(env, server):
    other = Server(["127.0.0.2"])
    try:
        a = env.app("net", NET_CAPS(server.port))
        rc, out, _ = env.run(a, "connect", "svc.test", str(other.port))
        assert_denied(rc, out, ["EACCES"], "undeclared port")
        assert other.hits["127.0.0.2"] == 0
    finally:
        other.close()


def test_v4_mapped_ipv6_cannot_smuggle_an_address(env, server):
    a = env.app("net", NET_CAPS(server.port))
    rc, out, _ = env.run(a, "connect", "::ffff:127.0.0.3", str(server.port))
    assert_denied(rc, out, ["EACCES"], "v4-mapped")
    assert server.hits["127.0.0.3"] == 0


def test_dns_change_after_check_is_enforced(env, server):
    """The app resolves svc.test (127.0.0.2), then the name moves to
    127.0.0.4; connecting to the stale answer is refused, the fresh answer
    (which the runtime rewrote into the app's /etc/hosts) works."""
    a = env.app("dns", NET_CAPS(server.port))
    p, _ = None, None
    log = env.tmp / "dns.log"
    log.write_text("")
    p = subprocess.Popen([str(x) for x in env.args(a, "connect-later", "svc.test", str(server.port), "2")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(500):
        if "RESOLVED 127.0.0.2" in log.read_text():
            break
        time.sleep(0.01)
    else:
        p.kill()
        raise AssertionError(log.read_text())
    env.hosts.write_text("127.0.0.4 svc.test\n")
    p.wait(timeout=30)
    out = log.read_text()
    assert "ERR EACCES 127.0.0.2" in out, out
    assert "RESOLVED 127.0.0.4" in out and "OK 127.0.0.4" in out, out
    assert server.hits["127.0.0.2"] == 0
    assert server.hits["127.0.0.4"] == 1


def test_udp_egress_is_refused(env, server):
    a = env.app("net", NET_CAPS(server.port))
    rc, out, _ = env.run(a, "connect-udp", "svc.test", str(server.port))
    assert_denied(rc, out, ["EACCES"], "udp connect")
    # unconnected datagrams have no route out of the app's namespace
    rc, out, _ = env.run(a, "sendto", "192.0.2.1", "53")
    assert_denied(rc, out, ["ENETUNREACH", "EACCES", "EPERM"], "udp sendto")


@pytest.mark.parametrize("kind", ["socket-raw", "socket-raw6", "socket-packet", "socket-sctp", "socket-mptcp"])
def test_raw_and_packet_sockets_are_refused(env, kind):
    a = env.app("raw")
    rc, out, _ = env.run(a, kind)
    assert_denied(rc, out, ["EPERM", "EACCES"], kind)


def test_listen_on_undeclared_port_is_refused(env):
    port = free_port()
    a = env.app("srv", {"AllowedTcpServerPorts": [free_port()]})
    rc, out, _ = env.run(a, "listen", str(port), timeout=30)
    assert_denied(rc, out, ["EACCES"], "listen undeclared")


def test_tcp_fast_open_cannot_bypass_connect(env, server):
    """A socket the runtime bound (declared server port) lives in the host
    namespace; a fast-open send on it would connect without connect()."""
    port = free_port()
    a = env.app("tfo", {"AllowedTcpServerPorts": [port]})
    rc, out, _ = env.run(a, "tfo", str(port), "127.0.0.3", str(server.port))
    assert_denied(rc, out, ["EPERM"], "MSG_FASTOPEN")
    assert server.hits["127.0.0.3"] == 0


def test_listen_on_declared_port_serves_the_host(env):
    port = free_port()
    a = env.app("srv", {"AllowedTcpServerPorts": [port]})
    log = env.tmp / "srv.log"
    log.write_text("")
    p = subprocess.Popen([str(x) for x in env.args(a, "listen", str(port))],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(500):
            if "LISTENING" in log.read_text() or p.poll() is not None:
                break
            time.sleep(0.01)
        assert "LISTENING" in log.read_text(), log.read_text()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            assert c.recv(100) == b"hello from app\n"
        assert p.wait(timeout=20) == 0
    finally:
        if p.poll() is None:
            p.kill()



class StuckServer:
    """A listening socket whose accept queue is full and never drained: the
    kernel drops further SYNs, so a connect to it stays under way."""

    def __init__(self, addr):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((addr, 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(0)
        # one finished connection fills a backlog-0 queue
        self.fillers = [socket.create_connection((addr, self.port), timeout=10)]
        # check: a further connect does not complete
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.setblocking(False)
        assert probe.connect_ex((addr, self.port)) == errno.EINPROGRESS
        _, writable, _ = select.select([], [probe], [], 1.0)
        assert not writable, "the stuck server's accept queue is not full"
        self.fillers.append(probe)

    def close(self):
        for c in self.fillers:
            c.close()
        self.sock.close()


def test_slow_connect_does_not_stall_the_apps_other_connects(env, server):
    """Two connects to a peer that never answers the handshake are under way
    (each in its own thread of one app) when the app connects to a live
    server: that third connect is answered while both others still wait,
    and the waiting ones end with ETIMEDOUT."""
    stuck = StuckServer("127.0.0.3")
    try:
        a = env.app("stall", {"AllowedConnections": [f"svc.test:{server.port}", f"other.test:{stuck.port}"]})
        rc, out, err = env.run(a, "connect-stall", "other.test", str(stuck.port), "svc.test", str(server.port))
        assert rc == 0, out + err
        lines = out.splitlines()
        live = [l for l in lines if l.startswith("LIVE ")]
        assert live == ["LIVE OK hello 127.0.0.2 pending=2"], out
        # the live answer came before either stuck connect returned
        assert lines.index(live[0]) < min(lines.index("STUCK0 ERR ETIMEDOUT"), lines.index("STUCK1 ERR ETIMEDOUT")), out
        assert server.hits["127.0.0.2"] == 1
    finally:
        stuck.close()


class PongServer:
    """Answers each connection's first line with 'pong <line>' and sends
    nothing before it has read that line."""

    def __init__(self, addr):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((addr, 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(16)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                c.settimeout(20)
                try:
                    line = c.makefile("rb").readline().strip()
                    c.sendall(b"pong " + line + b"\n")
                except OSError:
                    pass

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("mode,expected", [
    ("none", "-"),
    ("cloexec", "cloexec"),
    ("nonblock", "nonblock"),
    ("cloexec,nonblock", "cloexec,nonblock"),
    ("fcntl-cloexec", "cloexec"),
    ("fcntl-nonblock", "nonblock"),
    ("fcntl-cloexec,fcntl-nonblock", "cloexec,nonblock"),
    ("cloexec,fcntl-nonblock", "cloexec,nonblock"),
])
def test_socket_flags_survive_the_runtimes_connect(env, mode, expected):
    """The runtime replaces the app's socket with its own connected one; the
    replacement keeps exactly the app's close-on-exec and non-blocking
    flags, and a non-blocking socket behaves as one."""
    srv = PongServer("127.0.0.2")
    try:
        a = env.app("flags", {"AllowedConnections": [f"svc.test:{srv.port}"]})
        rc, out, err = env.run(a, "sockflags", "svc.test", str(srv.port), mode)
        assert rc == 0, out + err
        assert f"FLAGS before={expected} after={expected} replaced=1" in out.splitlines(), out
        assert out.splitlines()[-1] == "OK pong ping", out
        if "nonblock" in expected:
            assert any(l in ("CONNECT 0", "CONNECT EINPROGRESS") for l in out.splitlines()), out
            assert "WRITABLE" in out and "READ EAGAIN" in out.splitlines(), out
        else:
            assert "CONNECT" not in out, out
    finally:
        srv.close()

# --- files -------------------------------------------------------------------

STORE = {"MutableStorage": {"SizeKB": 512}}


def test_storage_persists_and_quota_gives_enospc(env):
    a = env.app("store", STORE)
    assert env.run(a, "write", "/data/counter", "41")[0] == 0
    rc, out, _ = env.run(a, "read", "/data/counter")  # a new compartment: persisted
    assert rc == 0 and "OK 41" in out, out
    rc, out, _ = env.run(a, "fill", "/data/big")
    assert_denied(rc, out, ["ENOSPC"], "quota")
    assert env.run(a, "read", "/data/counter")[1].strip() == "OK 41"


def test_other_apps_storage_is_unreachable(env):
    a = env.app("owner", STORE)
    b = env.app("thief", STORE)
    assert env.run(a, "write", "/data/secret", "s3cret")[0] == 0
    rc, out, _ = env.run(b, "read", "/data/secret")
    assert_denied(rc, out, ["ENOENT"], "other app's /data")
    img = next((env.state / "storage").glob("*.img"))
    for path in (str(img), str(env.state / "storage")):
        rc, out, _ = env.run(b, "read", path)
        assert_denied(rc, out, ["ENOENT"], path)
        rc, out, _ = env.run(b, "write", path)
        assert_denied(rc, out, ["ENOENT", "EROFS"], path)


def test_second_instance_cannot_mount_the_same_storage(env):
    a = env.app("single", STORE)
    p, pid = env.start(a, "sleep", "60")
    try:
        log = env.tmp / "single-2.log"
        r = run([RUN, "--state", env.state, "--log", log, a, "true"], check=False)
        assert r.returncode == 125
        assert "is in use by another running instance of the app" in r.stderr
        assert alive(p, pid)
    finally:
        stop(p)
    assert env.run(a, "true")[0] == 0  # free again once the first has stopped


def test_host_unix_sockets_are_unreachable(env, tmp_path):
    """The monitor's and rampartd's sockets are unix sockets on the host:
    neither their paths nor the host's abstract names reach a compartment."""
    path = tmp_path / "monitor.sock"
    named = socket.socket(socket.AF_UNIX)
    named.bind(str(path))
    named.listen(4)
    abstract_name = f"rampart-test-{uuid.uuid4().hex[:12]}"
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind("\0" + abstract_name)
    abstract.listen(4)
    try:
        a = env.app("ipc")
        rc, out, _ = env.run(a, "connect-unix", str(path))
        assert_denied(rc, out, ["ENOENT"], "host unix socket path")
        rc, out, _ = env.run(a, "connect-abstract", abstract_name)
        assert_denied(rc, out, ["ECONNREFUSED", "EPERM"], "host abstract unix socket")
    finally:
        named.close()
        abstract.close()


def test_app_without_storage_has_no_writable_data(env):
    a = env.app("nostore")
    rc, out, _ = env.run(a, "write", "/data/x")
    assert_denied(rc, out, ["ENOENT", "EROFS"], "no storage")


def test_paths_outside_the_root_are_invisible(env, tmp_path):
    fuse = tmp_path / "device" / "fuses.bin"
    fuse.parent.mkdir()
    fuse.write_bytes(b"UDS-SECRET" * 4)
    a = env.app("peek")
    for path in (str(fuse), "/etc/shadow", "/root", str(RUN), "/sys/kernel", "/dev/mem", "/dev/sda"):
        rc, out, _ = env.run(a, "read", path)
        assert_denied(rc, out, ["ENOENT"], path)
    rc, out, _ = env.run(a, "read", "/etc/passwd")  # the runtime's minimal file, not the host's
    assert rc == 0 and "root:x:0:0" in out


@pytest.mark.parametrize("path", ["/app/bin/probe", "/app/new", "/app/app_manifest.json", "/newfile",
                                  "/etc/hosts", "/dev/evil"])
def test_image_and_root_are_read_only(env, path):
    a = env.app("ro")
    rc, out, _ = env.run(a, "write", path)
    assert_denied(rc, out, ["EROFS", "EACCES"], path)
    assert (a / "bin" / "probe").read_bytes() == PROBE.read_bytes()


def test_tmp_is_private_size_limited_and_noexec(env):
    a = env.app("tmp")
    rc, out, _ = env.run(a, "exec-tmp")
    assert_denied(rc, out, ["EACCES"], "exec from /tmp")
    rc, out, _ = env.run(a, "fill", "/tmp/big", opts=("--tmp-kb", "256"))
    assert_denied(rc, out, ["ENOSPC"], "/tmp quota")


def test_device_nodes_cannot_be_made(env):
    a = env.app("dev")
    rc, out, _ = env.run(a, "mknod")
    assert_denied(rc, out, ["EPERM"], "mknod")


def test_setuid_binary_gains_nothing(env):
    a = env.app("suid", setuid_copy=True)
    rc, out, _ = env.run(a, "exec", "/app/bin/suid", "id")
    assert rc == 0, out
    assert "euid=0" not in out and "uid=2" in out, out
    rc, out, _ = env.run(a, "exec", "/app/bin/suid", "setuid0")
    assert_denied(rc, out, ["EPERM"], "setuid(0) after exec of setuid binary")


# --- kernel surface ----------------------------------------------------------

@pytest.mark.parametrize("attack", ["mount", "umount", "unshare", "setns", "chroot", "pivot_root",
                                    "init_module", "finit_module", "kexec", "bpf", "perf", "keyctl",
                                    "clone-newuser", "sethostname", "setuid0"])
def test_privileged_syscalls_are_refused(env, attack):
    a = env.app("sys")
    rc, out, _ = env.run(a, attack)
    assert_denied(rc, out, ["EPERM", "ENOSYS", "EACCES"], attack)


# --- other processes ---------------------------------------------------------

def test_proc_shows_only_the_app(env):
    victim = env.app("victim")
    p, vpid = env.start(victim, "sleep", "60")
    try:
        a = env.app("snoop")
        for path in (f"/proc/{vpid}/environ", f"/proc/{p.pid}/cmdline", "/proc/1/environ", "/proc/1/root/app",
                     f"/proc/{os.getpid()}/root/etc/shadow"):
            rc, out, _ = env.run(a, "read", path)
            assert_denied(rc, out, ["ENOENT", "EACCES"], path)
        rc, out, _ = env.run(a, "ls", "/proc/1")  # init is hidden from the app
        assert_denied(rc, out, ["ENOENT"], "/proc/1")
        assert alive(p, vpid)
    finally:
        stop(p)


def test_signals_and_ptrace_do_not_reach_other_apps_or_the_runtime(env):
    victim = env.app("victim")
    p, vpid = env.start(victim, "sleep", "60")
    try:
        a = env.app("attacker")
        for target in (vpid, p.pid, os.getpid(), 1):
            rc, out, _ = env.run(a, "kill", str(target))
            assert_denied(rc, out, ["ESRCH", "EPERM"], f"kill {target}")
            rc, out, _ = env.run(a, "ptrace", str(target))
            assert_denied(rc, out, ["EPERM", "ESRCH"], f"ptrace {target}")
            rc, out, _ = env.run(a, "process_vm_readv", str(target))
            assert_denied(rc, out, ["EPERM", "ESRCH"], f"process_vm_readv {target}")
        assert alive(p, vpid)
    finally:
        assert stop(p) == 128 + signal.SIGTERM


@pytest.mark.parametrize("mode", [(), ("--no-cgroup",)], ids=["cgroup", "rlimit"])
def test_fork_bomb_is_contained(env, mode):
    victim = env.app("victim")
    p, vpid = env.start(victim, "sleep", "60")
    try:
        a = env.app("bomber")
        rc, out, _ = env.run(a, "forkbomb", opts=("--pids", "16", *mode))
        assert_denied(rc, out, ["EAGAIN"], "fork bomb")
        n = int(out.split("after ")[1].split()[0])
        assert n < 16, out
        assert alive(p, vpid)
    finally:
        stop(p)


@pytest.mark.parametrize("mode", [(), ("--no-cgroup",)], ids=["cgroup", "rlimit"])
def test_memory_exhaustion_is_contained(env, mode):
    victim = env.app("victim")
    p, vpid = env.start(victim, "sleep", "60")
    try:
        a = env.app("hog")
        rc, out, err = env.run(a, "memhog", "512", opts=("--memory-mb", "32", *mode))
        # either the allocation fails or the app alone is killed
        assert rc in (1, 128 + signal.SIGKILL), (rc, out, err)
        if rc == 1:
            assert "ERR ENOMEM" in out
        assert "OK" not in out
        assert alive(p, vpid)
    finally:
        stop(p)


def test_compromised_app_leaves_others_running(env, server):
    """One app runs every attack it can; two other apps keep running and the
    second still reaches its declared server afterwards."""
    v1 = env.app("victim1", STORE)
    v2 = env.app("victim2", NET_CAPS(server.port))
    p1, pid1 = env.start(v1, "sleep", "120")
    p2, pid2 = env.start(v2, "sleep", "120")
    try:
        evil = env.app("evil", STORE)
        attacks = ["kill", str(pid1), "--", "kill", str(p2.pid), "--",
                   "ptrace", str(pid2), "--", "forkbomb", "--", "memhog", "256", "--", "mount", "--",
                   "unshare", "--", "fill", "/data/x", "--", "fill", "/tmp/x", "--",
                   "connect", "127.0.0.2", str(server.port), "--", "kill", "-1"]
        rc, out, err = env.run(evil, "run", *attacks, opts=("--memory-mb", "48", "--pids", "24"))
        # everything is refused (the memory hog may be killed before it can
        # say so, and kill(-1), which reaches only the attacker's own
        # processes, may take the reporting process down with it)
        for expected in ("ERR ESRCH kill", "ERR EPERM ptrace", "ERR EAGAIN", "ERR EPERM mount",
                         "ERR EPERM unshare", "ERR ENOSPC", "ERR EACCES connect"):
            assert expected in out, out
        assert out.count("ERR ESRCH kill") == 2 and out.count("ERR ENOSPC") == 2, out
        oks = [line for line in out.splitlines() if line.startswith("OK")]
        assert oks in ([], ["OK signalled"]), out
        assert alive(p1, pid1) and alive(p2, pid2)
        assert server.hits["127.0.0.2"] == 0
        b = env.app("victim2b", NET_CAPS(server.port))
        rc, out, _ = env.run(b, "connect", "svc.test", str(server.port))
        assert rc == 0, out
    finally:
        assert stop(p1) == 128 + signal.SIGTERM
        assert stop(p2) == 128 + signal.SIGTERM

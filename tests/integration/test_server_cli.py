"""The operator CLI against a real server: login (fingerprint, pin, trust on
first use, CA), tenant/token/audit commands, JSON output, exit codes, and
the refusals: wrong certificate, unreachable server, bad usage."""
import json
import os
import stat
import subprocess

import pytest

from conftest import binary, run
from server_fixture import *  # noqa: F401,F403
from server_fixture import Server


@pytest.fixture
def cli(tmp_path):
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    env.pop("RAMPART_CONFIG", None)

    def go(*args, check=True, stdin=None):
        p = subprocess.run([binary("rampart"), *map(str, args)], env=env, capture_output=True,
                           text=True, input=stdin, timeout=120)
        if check:
            assert p.returncode == 0, f"{args}: {p.returncode}\n{p.stdout}\n{p.stderr}"
        return p
    go.config = tmp_path / "xdg" / "rampart" / "config.json"
    return go


def test_login_and_tenant_flow(server, cli):
    p = cli("login", "--server", server.url, "--token", server.bootstrap_token,
            "--fingerprint", server.fingerprint.lower())
    assert "platform operator" in p.stdout and "(matches)" in p.stdout
    st = cli.config.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert stat.S_IMODE(cli.config.parent.stat().st_mode) == 0o700
    conf = json.loads(cli.config.read_text())
    assert conf["pin"] == server.pin and conf["server"] == server.url

    p = cli("tenant", "create", "Acme Devices", "--output", "json")
    j = json.loads(p.stdout)
    tid, admin = j["tenant"]["id"], j["admin_token"]["token"]
    p = cli("tenant", "create", "Acme Devices", check=False)
    assert p.returncode == 1 and "409 conflict" in p.stderr and "Acme Devices" in p.stderr
    p = cli("tenant", "list")
    assert p.stdout.splitlines()[0].split() == ["ID", "NAME", "CREATED"]
    assert tid in p.stdout and "Acme Devices" in p.stdout
    assert json.loads(cli("tenant", "show", tid, "-o", "json").stdout)["name"] == "Acme Devices"
    assert cli("tenant", "show", "ten_" + "0" * 32, check=False).returncode == 1

    # switch to the tenant's admin token (read from stdin, not argv)
    cli("login", "--server", server.url, "--token", "-", "--fingerprint", server.pin, stdin=admin + "\n")
    assert json.loads(cli("tenant", "show", "-o", "json").stdout)["id"] == tid
    p = cli("token", "create", "--role", "reader", "--name", "ci", "--expires-in-days", "7", "-o", "json")
    t = json.loads(p.stdout)
    assert t["role"] == "reader" and t["token"].startswith("rpt_") and t["expires_at"]
    p = cli("token", "list")
    assert t["id"] in p.stdout and "reader" in p.stdout and "rpt_" not in p.stdout
    p = cli("token", "revoke", t["id"])
    assert "revoked" in p.stdout
    p = cli("token", "revoke", t["id"], check=False)
    assert p.returncode == 1 and "already revoked" in p.stderr
    p = cli("audit", "list", "-o", "json")
    acts = [i["action"] for i in json.loads(p.stdout)["items"]]
    assert acts.count("token.create") == 1 and "token.revoke" in acts
    # tenant admin is not the platform operator
    p = cli("tenant", "list", check=False)
    assert p.returncode == 1 and "403" in p.stderr


def test_list_paging(server, cli):
    cli("login", "--server", server.url, "--token", server.bootstrap_token, "--fingerprint", server.fingerprint)
    for i in range(5):
        server.create_tenant(f"p{i}")
    p = cli("tenant", "list", "--limit", "2")
    assert len(p.stdout.splitlines()) == 3 and "--cursor" in p.stderr
    cur = p.stderr.split("--cursor ")[1].split(",")[0]
    p2 = cli("tenant", "list", "--limit", "2", "--cursor", cur)
    assert "p2" in p2.stdout and "p0" not in p2.stdout
    p = cli("tenant", "list", "--limit", "2", "--all", "-o", "json")
    j = json.loads(p.stdout)
    assert [t["name"] for t in j["items"]] == [f"p{i}" for i in range(5)] and j["next_cursor"] is None
    p = cli("tenant", "list", "--limit", "0", check=False)
    assert p.returncode == 1 and "limit" in p.stderr


def test_trust_on_first_use_and_ca(make_server, cli, tmp_path):
    server, other = make_server(), make_server()
    p = cli("login", "--server", server.url + "/", "--token", server.bootstrap_token)
    assert server.fingerprint in p.stdout and "first use" in p.stdout
    assert json.loads(cli.config.read_text())["server"] == server.url
    # --ca with a bundle that does not hold the server's issuer: exit 3,
    # nothing stored
    before = cli.config.read_text()
    p = cli("login", "--server", server.url, "--token", server.bootstrap_token,
            "--ca", other.data_dir / "server.crt", check=False)
    assert p.returncode == 3 and "did not verify" in p.stderr
    assert cli.config.read_text() == before
    # --ca with the server's own (self-signed) certificate as trust anchor:
    # chain and host name (127.0.0.1 is in its SAN) verify
    p = cli("login", "--server", server.url, "--token", server.bootstrap_token,
            "--ca", server.data_dir / "server.crt")
    conf = json.loads(cli.config.read_text())
    assert "pin" not in conf and conf["ca_file"].endswith("server.crt")
    assert "ten_" not in cli("tenant", "list").stdout


def test_wrong_certificate_refused_before_token_is_sent(make_server, cli):
    a = make_server()
    b = make_server()          # another server, another key
    cli("login", "--server", a.url, "--token", a.bootstrap_token, "--fingerprint", a.fingerprint)
    # login to b expecting a's fingerprint: refused, nothing sent or stored
    p = cli("login", "--server", b.url, "--token", b.bootstrap_token, "--fingerprint", a.fingerprint, check=False)
    assert p.returncode == 3 and "certificate mismatch" in p.stderr
    # a config that points at b with a's pin (an attacker took the address)
    conf = json.loads(cli.config.read_text())
    conf["server"] = b.url
    cli.config.write_text(json.dumps(conf))
    p = cli("tenant", "list", check=False)
    assert p.returncode == 3 and "does not match" in p.stderr
    # no HTTP request reached b (its request log is flushed on stop)
    assert b.stop() == 0
    assert "route=tenant.list" not in b.log() and "route=ops.healthz" in b.log()


def test_unreachable_and_usage(server, cli):
    cli("login", "--server", server.url, "--token", server.bootstrap_token, "--fingerprint", server.fingerprint)
    url = server.url
    assert server.stop() == 0
    p = cli("tenant", "list", check=False)
    assert p.returncode == 3 and "cannot reach" in p.stderr and url in p.stderr
    p = cli("login", "--server", url, "--token", "x", check=False)
    assert p.returncode == 3
    for args in (["tenant"], ["tenant", "frob"], ["token", "create"], ["token", "revoke"],
                 ["token", "list", "--role", "admin"], ["audit", "list", "extra"],
                 ["tenant", "list", "--output", "yaml"], ["login", "--server", "http://x", "--token", "t"],
                 ["login", "--token", "t"]):
        p = cli(*args, check=False)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert p.stderr
    for group in ("login", "tenant", "token", "audit"):
        p = cli(group, "--help")
        assert "usage: rampart " + group in p.stdout
    for sub in (["tenant", "create"], ["tenant", "list"], ["token", "list"], ["audit", "list"]):
        assert "usage:" in cli(*sub, "--help").stdout


def test_not_logged_in(cli):
    p = cli("tenant", "list", check=False)
    assert p.returncode == 1 and "rampart login" in p.stderr


def test_bad_token_not_saved(server, cli):
    p = cli("login", "--server", server.url, "--token", "rpt_" + "A" * 43, check=False)
    assert p.returncode == 1 and "refused the token" in p.stderr
    assert not cli.config.exists()

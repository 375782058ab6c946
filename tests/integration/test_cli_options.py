"""The server command groups' shared option and argument checks: an option a
subcommand does not take, a missing or extra positional argument, or an
unknown subcommand is a usage error (exit 2) that names what was wrong, and
is refused before any configuration is read or request is sent (the config
path below does not exist, so reaching the server side would exit 1)."""
import pytest

from conftest import run

REFUSED = [
    # (argv, the option named in the message)
    (["device", "list", "--records", "r.jsonl"], "--records"),
    (["device", "unblock", "U", "--reason", "x"], "--reason"),
    (["device", "show", "U", "--limit", "5"], "--limit"),
    (["device-group", "show", "G", "--description", "d"], "--description"),
    (["device-group", "create", "--all"], "--all"),
    (["product", "create", "P", "--name", "n"], "--name"),
    (["product", "show", "P", "--cursor", "c"], "--cursor"),
    (["manufacturer", "list", "--root", "r.pem"], "--root"),
    (["ca", "rotate", "--out", "f.pem"], "--out"),
    (["ca", "download", "--all"], "--all"),
    (["tenant", "create", "T", "--limit=3"], "--limit"),
    (["token", "list", "--role", "admin"], "--role"),
    (["token", "revoke", "TK", "--tenant", "T"], "--tenant"),
]


@pytest.fixture
def cli(rampart, tmp_path):
    env = {"RAMPART_CONFIG": str(tmp_path / "absent.json"), "PATH": "/usr/bin:/bin"}

    def go(*argv):
        return run([rampart, *argv], check=False, env=env, cwd=tmp_path, timeout=30)
    return go


@pytest.mark.parametrize("argv,opt", REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_option_the_subcommand_does_not_take_is_refused(cli, argv, opt):
    p = cli(*argv)
    assert p.returncode == 2, p.stderr
    assert f"{argv[0]} {argv[1]}: option '{opt}' does not apply here" in p.stderr, p.stderr
    assert p.stdout == ""


@pytest.mark.parametrize("argv,msg", [
    (["device", "show"], "device show: exactly one UEID is needed"),
    (["device", "block", "A", "B"], "device block: exactly one UEID is needed"),
    (["device-group", "update"], "device-group update: exactly one GROUP_ID is needed"),
    (["product", "show", "A", "B"], "product show: exactly one PRODUCT_ID is needed"),
    (["manufacturer", "show"], "manufacturer show: exactly one MANUFACTURER_ID is needed"),
    (["device", "list", "extra"], "device list: unexpected argument 'extra'"),
    (["ca", "list", "extra"], "ca list: unexpected argument 'extra'"),
    (["product", "list", "extra"], "product list: unexpected argument 'extra'"),
    (["audit", "list", "extra"], "'audit list' takes no arguments"),
    (["token", "revoke"], "'token revoke' takes one TOKEN_ID"),
    (["token", "create", "--role", "admin", "--expires-in-days", "7x"],
     "--expires-in-days must be a number (got '7x')"),
])
def test_wrong_arguments_are_named(cli, argv, msg):
    p = cli(*argv)
    assert p.returncode == 2, p.stderr
    assert msg in p.stderr, p.stderr


@pytest.mark.parametrize("group", ["device", "device-group", "product", "manufacturer", "ca",
                                   "tenant", "token", "audit", "failures"])
def test_unknown_and_missing_subcommand(cli, group):
    p = cli(group, "frobnicate")
    assert p.returncode == 2
    assert f"unknown {group} command 'frobnicate'" in p.stderr
    assert "usage: rampart" in p.stderr
    p = cli(group)
    assert p.returncode == 2 and "usage: rampart" in p.stderr and p.stdout == ""
    p = cli(group, "--help")
    assert p.returncode == 0 and "usage: rampart" in p.stdout


@pytest.mark.parametrize("argv", [["device", "list", "--output", "yaml"],
                                  ["token", "list", "--output=xml"]])
def test_bad_output_format(cli, argv):
    p = cli(*argv)
    assert p.returncode == 2
    assert "table" in p.stderr and "json" in p.stderr, p.stderr


def test_options_a_subcommand_takes_reach_the_request(cli):
    """Accepted options get past parsing: the run stops only at the missing
    configuration (exit 1), not at a usage error."""
    for argv in (["device", "list", "--group", "G", "--state", "active", "--limit", "5", "--all"],
                 ["device", "block", "U", "--reason", "lost"],
                 ["device-group", "update", "G", "--description", "d", "--crash-dumps", "yes"],
                 ["token", "create", "--role", "reader", "--expires-in-days", "3"],
                 ["tenant", "list", "--cursor", "c1"],
                 ["audit", "list", "--tenant", "T", "--limit", "2"]):
        p = cli(*argv)
        assert p.returncode == 1, f"{argv}: {p.returncode} {p.stderr}"
        assert "does not apply" not in p.stderr

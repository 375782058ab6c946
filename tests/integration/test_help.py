"""`--help` for every command: each program, every `rampart` command group
and every subcommand its help names, and every `rampart-device` command,
prints its usage on standard output and exits 0. The lists are read from
the help texts themselves, so a new command is covered when it is listed."""
import re

import pytest

from conftest import binary, run

PROGRAMS = ["rampart", "rampart-server", "rampart-boot", "rampart-device", "rampartd",
            "rampart-sandbox-run", "rampart-crashwatch"]


def help_of(*argv):
    p = run([*argv, "--help"], check=False, timeout=30)
    assert p.returncode == 0, f"{argv} --help exited {p.returncode}\n{p.stdout}\n{p.stderr}"
    assert re.search(r"^\s*usage: ", p.stdout, re.M | re.I), f"{argv} --help: no usage line\n{p.stdout}"
    return p.stdout


def listed(text, after):
    """Names listed as '  name   description' after the line `after`."""
    body = text.split(after, 1)[1] if after in text else ""
    return re.findall(r"^  ([a-z][a-z0-9-]+)(?:\s{2,}|$)", body, re.M)


def groups():
    return listed(help_of(binary("rampart")), "commands:")


def subcommands(group):
    text = help_of(binary("rampart"), group)
    subs = set(re.findall(rf"^\s*(?:usage: )?rampart {re.escape(group)} ([a-z][a-z-]+)", text, re.M))
    subs |= set(listed(text, "commands:"))
    return sorted(subs)


@pytest.mark.parametrize("prog", PROGRAMS)
def test_every_program_has_help(prog):
    help_of(binary(prog))


def test_every_rampart_group_and_subcommand_has_help():
    gs = groups()
    # the table in src/cli/main.c, as the help lists it
    for g in ("keys", "image", "repo", "login", "tenant", "token", "audit", "manufacturer", "device",
              "product", "device-group", "ca", "failures", "dev", "deployment"):
        assert g in gs, f"'{g}' missing from rampart --help: {gs}"
    checked = 0
    for g in gs:
        for sub in subcommands(g):
            help_of(binary("rampart"), g, sub)
            checked += 1
    # repo alone has eleven; every group with subcommands was walked
    assert "upload" in subcommands("repo") and "bind" in subcommands("repo")
    assert checked >= 50, checked


def test_every_rampart_device_command_has_help():
    text = help_of(binary("rampart-device"))
    cmds = sorted(set(re.findall(r"^  ([a-z][a-z-]+) ", text, re.M)))
    for c in ("provision", "record", "install-os", "info", "configure", "make-os", "run", "status"):
        assert c in cmds, cmds
    for c in cmds:
        help_of(binary("rampart-device"), c)


def test_unknown_command_is_a_usage_error():
    p = run([binary("rampart"), "no-such-command"], check=False)
    assert p.returncode == 2 and "unknown command 'no-such-command'" in p.stderr
    p = run([binary("rampart-device"), "no-such-command"], check=False)
    assert p.returncode == 2, p.stderr

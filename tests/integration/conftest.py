"""Shared fixtures for the integration suite: locate the real binaries of the
build under test (RAMPART_BUILD) and give each test a scratch directory."""
import os
import pathlib
import subprocess

import pytest

TOP = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("RAMPART_BUILD", TOP / "build"))


def binary(name: str) -> str:
    """Path of a built program; fails the test (not skips) when it is missing."""
    for sub in ("src/cli", "src/server", "src/boot", "src/runtime", "src/sandbox", "src", "tests"):
        p = BUILD / sub / name
        if p.exists():
            return str(p)
    raise AssertionError(f"{name} not built under {BUILD}")


def run(args, check=True, **kw):
    """Runs a command, capturing text output; on an unexpected exit code the
    assertion shows stdout and stderr."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    p = subprocess.run([str(a) for a in args], **kw)
    if check is True:
        assert p.returncode == 0, f"{args} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    elif check is False:
        pass
    return p


@pytest.fixture
def rampart():
    return binary("rampart")

"""The documented examples work as written: every ```sh block of
docs/quickstart.md runs, in order, in one bash session (set -e) in a fresh
directory, against a real rampart-server on a free port with emulated
devices, and each block must exit 0. The doc defines its own variables
($SERVER, $TENANT, ...) through its earlier commands; the test supplies only
what the doc's setup section tells a reader to set (PATH, RAMPART_BUILD)
and a free port."""
import os
import pathlib
import re
import signal
import subprocess
import time

from conftest import BUILD, TOP

DOC = TOP / "docs" / "quickstart.md"


def sh_blocks(text):
    return re.findall(r"^```sh\n(.*?)^```$", text, re.M | re.S)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def leftovers(d):
    out = []
    for p in pathlib.Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if str(d) in (p / "cmdline").read_bytes().decode(errors="replace") or \
                        os.readlink(p / "cwd").startswith(str(d)):
                    out.append(int(p.name))
            except OSError:
                pass
    return [p for p in out if p != os.getpid()]


def test_quickstart_blocks_run_in_order(tmp_path):
    blocks = sh_blocks(DOC.read_text())
    assert len(blocks) >= 10, "the quickstart lost its runnable examples"
    script = ["set -e -o pipefail"]
    for i, b in enumerate(blocks):
        script += [f"echo '@@ block {i} start'", b.rstrip("\n"), f"echo '@@ block {i} ok'"]
    work = tmp_path / "qs"
    work.mkdir()
    (work / "quickstart.sh").write_text("\n".join(script) + "\n")
    env = dict(os.environ)
    env.pop("RAMPART_CONFIG", None)
    env.update({
        "RAMPART_BUILD": str(BUILD),
        "PATH": ":".join(str(BUILD / d) for d in ("src/cli", "src/server", "src/boot")) + ":" + env["PATH"],
        "PORT": str(free_port()),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    })
    p = subprocess.Popen(["bash", str(work / "quickstart.sh")], cwd=work, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        raise AssertionError("the quickstart hung:\n" + out[-8000:])
    finally:
        for pid in leftovers(work):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    done = [int(n) for n in re.findall(r"^@@ block (\d+) ok$", out, re.M)]
    started = re.findall(r"^@@ block (\d+) start$", out, re.M)
    failed = int(started[-1]) if started else 0
    assert p.returncode == 0 and done == list(range(len(blocks))), (
        f"quickstart block {failed} failed (exit {p.returncode}):\n{blocks[failed]}\n"
        f"--- output ---\n{out[-8000:]}")
    # what the blocks claim, visible in their output
    assert "state: attested" in out
    assert "os_version: 2.0.0" in out and "counter os: 2" in out
    assert re.search(r"slot b: .*confirmed, image rampart-os 2\.0\.0 svn 2", out), out[-4000:]
    # a symbolized SIGSEGV; a sanitizer build's crasher may handle SIGSEGV
    # itself and exit 1, and then the bucket is that exit
    sanitized = b"__asan_init" in (BUILD / "src" / "sdk" / "app-crasher").read_bytes()
    assert re.search(r"SIGSEGV in crash_now <- main", out) or (
        sanitized and re.search(r",app_exit,c4a5b6d7-e8f9-4a0b-9c1d-2e3f4a5b6c7d,1\.0,", out)), out[-4000:]
    time.sleep(0.5)
    assert leftovers(work) == [], "the quickstart's last block left processes running"

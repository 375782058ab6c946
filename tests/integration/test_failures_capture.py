"""Crash capture by the runtime, end to end: the crashers in tests/crashers
are compiled with -g and a build-id, run under rampart-crashwatch (which
traces them with ptrace and unwinds them with libdwfl from outside), and the
resulting failure events are checked: signal, faulting address, the crashing
function and its caller, build-ids, exit codes, crash dumps, and the bucket,
which must not change when the app is rebuilt with different addresses."""
import json
import os
import pathlib
import re
import shutil
import signal
import struct
import subprocess
import time

import pytest

from conftest import TOP, binary, run

CRASHER_SRC = TOP / "tests" / "crashers" / "crasher.c"


def build_crasher(out: pathlib.Path, *extra: str) -> pathlib.Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "no C compiler to build the crashers"
    run([cc, "-O0", "-g", "-Wl,--build-id=sha1", "-pthread", *extra, "-o", out, CRASHER_SRC])
    return out


def build_id_of(path: pathlib.Path) -> str:
    """The build-id from the ELF notes, read without our code."""
    data = path.read_bytes()
    # .note.gnu.build-id: namesz=4, descsz=20, type=3 (NT_GNU_BUILD_ID), "GNU\0"
    i = data.find(struct.pack("<III", 4, 20, 3) + b"GNU\0")
    assert i >= 0, f"no build-id note in {path}"
    return data[i + 16:i + 36].hex()


@pytest.fixture(scope="module")
def crashers(tmp_path_factory):
    # Like an app update: same file name, another version directory.
    d = tmp_path_factory.mktemp("crashers")
    (d / "1.3").mkdir()
    (d / "1.4").mkdir()
    return {
        "plain": build_crasher(d / "1.3" / "crasher"),
        "padded": build_crasher(d / "1.4" / "crasher", "-DPADDING"),
    }


def watch(prog, *args, opts=(), tmp=None):
    out = pathlib.Path(tmp) / "out.json"
    if out.exists():
        out.unlink()
    p = run([binary("rampart-crashwatch"), *opts, "--json", out, "--", prog, *args])
    return json.loads(out.read_text()), p


def functions(ev):
    return [f["function"] for f in ev["frames"]]


def test_segv_backtrace_and_build_id(crashers, tmp_path):
    prog = crashers["plain"]
    res, _ = watch(prog, "segv", opts=["--component", "telemetry", "--version", "1.3.0"],
                   tmp=tmp_path)
    assert res["outcome"] == "killed"
    assert res["signal"] == signal.SIGSEGV
    assert res["signal_name"] == "SIGSEGV"
    assert res["captured"] is True
    ev = res["event"]
    assert ev["class"] == "app_crash"
    assert ev["component_id"] == "telemetry" and ev["component_version"] == "1.3.0"
    assert ev["signal"] == signal.SIGSEGV
    assert ev["si_code"] == 1            # SEGV_MAPERR
    assert ev["fault_addr"] == "0x0"     # null pointer write
    fns = functions(ev)
    assert fns[:3] == ["crash_here", "call_crash", "main"], fns
    bid = build_id_of(prog)
    for f in ev["frames"][:3]:
        assert f["module"] == "crasher"
        assert f["build_id"] == bid
    # the faulting pc is inside crash_here
    assert int(ev["pc"], 16) != 0
    assert ev["frames"][0]["offset"] > 0
    libc = [f for f in ev["frames"] if f["module"].startswith("libc.so")]
    assert libc and all(re.fullmatch(r"[0-9a-f]{40}", f["build_id"]) for f in libc)
    assert res["bucket"]["title"] == "telemetry: SIGSEGV in crash_here <- call_crash <- main"
    assert re.fullmatch(r"[0-9a-f]{32}", res["bucket"]["id"])


def test_rebuilt_crasher_same_bucket(crashers, tmp_path):
    a, _ = watch(crashers["plain"], "segv", opts=["--component", "telemetry", "--version", "1.3"],
                 tmp=tmp_path)
    b, _ = watch(crashers["padded"], "segv",
                 opts=["--component", "telemetry", "--version", "1.4"], tmp=tmp_path)
    fa, fb = a["event"]["frames"][0], b["event"]["frames"][0]
    assert fa["function"] == fb["function"] == "crash_here"
    # the rebuild really moved the code and changed the build-id ...
    assert fa["module_offset"] != fb["module_offset"]
    assert fa["offset"] != fb["offset"]
    assert fa["build_id"] != fb["build_id"]
    # ... and the crash still lands in the same bucket
    assert a["bucket"]["id"] == b["bucket"]["id"]
    # a different crash is a different bucket
    c, _ = watch(crashers["plain"], "abort", opts=["--component", "telemetry"], tmp=tmp_path)
    assert c["bucket"]["id"] != a["bucket"]["id"]
    # another component with the same crash is another bucket
    d, _ = watch(crashers["plain"], "segv", opts=["--component", "blink"], tmp=tmp_path)
    assert d["bucket"]["id"] != a["bucket"]["id"]


def test_abort_fpe_thread(crashers, tmp_path):
    prog = crashers["plain"]
    res, _ = watch(prog, "abort", tmp=tmp_path)
    assert res["signal"] == signal.SIGABRT
    fns = functions(res["event"])
    assert "abort" in fns
    assert fns[fns.index("abort") + 1] == "abort_here"
    assert res["bucket"]["title"].startswith("crasher: SIGABRT in abort_here <- main")

    res, _ = watch(prog, "fpe", tmp=tmp_path)
    assert res["signal"] == signal.SIGFPE
    ev = res["event"]
    assert ev["si_code"] == 1            # FPE_INTDIV
    assert functions(ev)[:2] == ["divide_here", "main"]
    assert ev["fault_addr"] == ev["pc"]

    res, _ = watch(prog, "thread", tmp=tmp_path)
    assert res["signal"] == signal.SIGSEGV
    assert functions(res["event"])[:3] == ["crash_here", "call_crash", "thread_main"]


def test_exits(crashers, tmp_path):
    prog = crashers["plain"]
    res, _ = watch(prog, "exit", "3", tmp=tmp_path)
    assert res["outcome"] == "exited" and res["exit_code"] == 3
    ev = res["event"]
    assert ev["class"] == "app_exit" and ev["exit_code"] == 3
    assert "frames" not in ev and "signal" not in ev
    assert res["bucket"]["title"] == "crasher: exit code 3"
    other, _ = watch(prog, "exit", "4", tmp=tmp_path)
    assert other["bucket"]["id"] != res["bucket"]["id"]

    res, _ = watch(prog, "exit", "0", tmp=tmp_path)
    assert res["outcome"] == "exited" and res["exit_code"] == 0
    assert res["event"] is None

    # a SIGSEGV the app handles itself is not a crash
    res, p = watch(prog, "handled", tmp=tmp_path)
    assert res["outcome"] == "exited" and res["exit_code"] == 0 and res["event"] is None
    assert "recovered" in p.stdout


def test_killed_by_sigterm(crashers, tmp_path):
    out = tmp_path / "term.json"
    p = subprocess.Popen([binary("rampart-crashwatch"), "--json", str(out), "--",
                          str(crashers["plain"]), "term"], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        children = pathlib.Path(f"/proc/{p.pid}/task/{p.pid}/children").read_text().split()
        assert len(children) == 1
        os.kill(int(children[0]), signal.SIGTERM)
        assert p.wait(timeout=60) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    res = json.loads(out.read_text())
    assert res["signal"] == signal.SIGTERM and res["captured"] is True
    fns = functions(res["event"])
    assert "main" in fns          # unwound at the exit stop, inside pause()


def test_watchdog_timeout(crashers, tmp_path):
    """A program that hangs past --timeout gets SIGABRT from the watchdog; the
    event is a watchdog event with the frames of where it hung."""
    res, p = watch(crashers["plain"], "term", opts=["--timeout", "1", "--component", "telemetry"],
                   tmp=tmp_path)
    assert "ready" in p.stdout
    assert res["signal"] == signal.SIGABRT and res["captured"] is True
    ev = res["event"]
    assert ev["class"] == "watchdog" and ev["reason"] == "timeout"
    assert "signal" not in ev and "dump" not in ev
    fns = functions(ev)
    assert fns[0] == "pause" and "main" in fns
    assert res["bucket"]["title"].startswith("telemetry: watchdog (timeout) in main")
    # a crash in the same program is another bucket
    crash, _ = watch(crashers["plain"], "segv", opts=["--component", "telemetry"], tmp=tmp_path)
    assert crash["bucket"]["id"] != res["bucket"]["id"]


def test_stripped_binary_keeps_module_offsets(crashers, tmp_path):
    stripped = tmp_path / "crasher-stripped"
    shutil.copy(crashers["plain"], stripped)
    run(["strip", "-s", stripped])
    a, _ = watch(crashers["plain"], "segv", tmp=tmp_path)
    b, _ = watch(stripped, "segv", tmp=tmp_path)
    fa, fb = a["event"]["frames"][0], b["event"]["frames"][0]
    # no symbols left for the static code, but the module, build-id and
    # module offset are there for offline symbolization
    assert fb["module"] == "crasher-stripped"
    assert fb["build_id"] == fa["build_id"] == build_id_of(stripped)
    assert fb["module_offset"] == fa["module_offset"]
    assert fb["function"] != "crash_here"


def test_crash_dump(crashers, tmp_path):
    dump = tmp_path / "dump.bin"
    res, _ = watch(crashers["plain"], "segv",
                   opts=["--dump-max", "6000", "--dump-out", str(dump)], tmp=tmp_path)
    data = dump.read_bytes()
    assert 1024 < len(data) <= 6000
    assert data[:8] == b"RPDUMP01"
    machine, nrec = struct.unpack_from("<II", data, 8)
    assert machine in (62, 183)
    p, kinds, modules = 16, [], []
    while p < len(data):
        typ, ln = struct.unpack_from("<II", data, p)
        p += 8
        body = data[p:p + ln]
        assert len(body) == ln
        kinds.append(typ)
        if typ == 3:
            blen = body[16]
            (nlen,) = struct.unpack_from("<H", body, 17 + blen)
            modules.append((body[19 + blen:19 + blen + nlen].decode(), body[17:17 + blen].hex()))
        if typ == 1:
            sig, = struct.unpack_from("<i", body, 4)
            assert sig == signal.SIGSEGV
        p += ln
    assert p == len(data) and len(kinds) == nrec
    assert kinds[0] == 1 and kinds[1] == 2 and kinds[-1] == 4
    assert ("crasher", build_id_of(crashers["plain"])) in modules
    # the same dump travels in the event, base64url
    import base64
    b64 = res["event"]["dump"]
    assert base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)) == data


def test_usage_errors(crashers, tmp_path):
    cw = binary("rampart-crashwatch")
    p = run([cw, "/nonexistent/app"], check=False)
    assert p.returncode == 1 and "/nonexistent/app" in p.stderr
    p = run([cw, "--frames", "33", crashers["plain"]], check=False)
    assert p.returncode == 1 and "--frames '33'" in p.stderr
    p = run([cw, "--dump-max", "100", crashers["plain"]], check=False)
    assert p.returncode == 1 and "--dump-max '100'" in p.stderr
    p = run([cw, "--queue", tmp_path / "q", "--queue-size", "3", crashers["plain"]], check=False)
    assert p.returncode == 1 and "--queue-size '3'" in p.stderr
    p = run([cw], check=False)
    assert p.returncode == 1 and "usage" in p.stderr
    # --frames caps the backtrace
    res, _ = watch(crashers["plain"], "segv", opts=["--frames", "2"], tmp=tmp_path)
    assert functions(res["event"]) == ["crash_here", "call_crash"]


def read_queue(d: pathlib.Path):
    """The queue file, checked independently: header, checksum, JSON."""
    import hashlib
    raw = (d / "queue").read_bytes()
    head, body = raw.split(b"\n", 1)
    magic, ver, digest = head.split(b" ")
    assert (magic, ver) == (b"rampart-failq", b"1")
    assert hashlib.sha256(body).hexdigest() == digest.decode()
    return json.loads(body)


def test_crash_loop_into_queue(crashers, tmp_path):
    """A crash loop recorded into a real queue of 8: the bound holds, the
    loop coalesces into one entry with its count, drops are counted, and a
    power cut in the middle of a write leaves the previous state."""
    q = tmp_path / "queue"
    cw = binary("rampart-crashwatch")
    prog = crashers["plain"]
    qopts = ["--queue", str(q), "--queue-size", "8", "--component", "telemetry"]
    for code in range(1, 13):                  # 12 distinct failures
        res, _ = watch(prog, "exit", str(code), opts=qopts, tmp=tmp_path)
        assert res["queue"]["events"] <= 8
    for _ in range(20):                        # then a crash loop
        res, _ = watch(prog, "segv", opts=qopts, tmp=tmp_path)
        assert res["queue"]["events"] <= 8
    state = read_queue(q)
    assert len(state["events"]) == 8
    assert state["recorded_total"] == 32
    assert state["dropped"] == state["dropped_total"] == 12 + 1 - 8
    loop = [e["event"] for e in state["events"] if e["event"]["class"] == "app_crash"]
    assert len(loop) == 1 and loop[0]["count"] == 20
    assert loop[0]["time_first"] <= loop[0]["time_last"]
    assert [f["function"] for f in loop[0]["frames"][:2]] == ["crash_here", "call_crash"]

    # power cut after the temp file is durable, before the rename
    before = (q / "queue").read_bytes()
    p = run([cw, *qopts, "--json", tmp_path / "cut.json", prog, "abort"], check=False,
            env={**os.environ, "RP_FAULT": "failq-written"})
    assert p.returncode == -signal.SIGKILL
    assert (q / "queue.tmp").exists()
    assert (q / "queue").read_bytes() == before
    # the next run cleans up and records normally
    res, _ = watch(prog, "abort", opts=qopts, tmp=tmp_path)
    assert not (q / "queue.tmp").exists()
    state = read_queue(q)
    assert state["recorded_total"] == 33 and len(state["events"]) == 8
    assert any(e["event"].get("signal") == signal.SIGABRT for e in state["events"])

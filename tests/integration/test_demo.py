"""`make demo` (tools/demo.py) run non-interactively against the build
under test: it must exit 0, narrate every step with the evidence it checked,
and leave no process or temporary file behind, also when interrupted."""
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

from conftest import BUILD, TOP

DEMO = [sys.executable, str(TOP / "tools" / "demo.py"), "--build", str(BUILD), "--non-interactive"]


def work_dir(text):
    m = re.search(r"work dir (\S+),", text)
    assert m, text
    return pathlib.Path(m.group(1))


def processes_in(work):
    """Pids of live processes whose command line names the work dir."""
    out = []
    for p in pathlib.Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(work) in cmd:
            out.append((int(p.name), cmd))
    return out


def test_demo_runs_every_step_and_cleans_up():
    p = subprocess.run(DEMO, capture_output=True, text=True, timeout=600)
    out = p.stdout
    assert p.returncode == 0, out[-12000:] + p.stderr[-4000:]
    steps = re.findall(r"^==> (\d+)\. (.*)$", out, re.M)
    assert [int(n) for n, _ in steps] == list(range(1, 9)), steps
    expected = [
        # 1. service and broker
        "rampart-server: ready",
        "require_certificate true",
        # 2. manufacture, register, claim
        "3 record(s): 3 added, 0 already registered",
        "3 devices claimed into Field Test",
        # 3. boot and attest; the service's list
        "dev1: attested (ok), OS 1.0.0",
        "dev3: attested (ok), OS 1.0.0",
        "$ rampart device list",
        # 4. telemetry at the broker, by certificate
        "mosquitto_sub received:",
        "devices/telemetry reading 1 from",
        # 5. the crash bucket, symbolized
        "one bucket,",
        "frames in the app: crash_now <- main",
        # 6. OS update
        "attested and confirmed in slot b",
        "floors after: dev1=2, dev2=2, dev3=2",
        # 7. attacks
        "the payload was modified",
        "rollback refused",
        "denied (not declared in the manifest)",
        "chain_unknown_manufacturer",
        # 8. clean-up
        "stopped the service, the broker and the devices",
        "Demo complete: all 8 steps did what they claim",
    ]
    for line in expected:
        assert line in out, f"missing {line!r} in demo output:\n{out[-12000:]}"
    # each device's five messages reached the broker under its own certificate
    senders = re.findall(r"dev(\d): client telemetry-([0-9a-f]+) authenticated as ([0-9a-f]+)\.\.\., 5 messages",
                         out)
    assert sorted(s[0] for s in senders) == ["1", "2", "3"], out
    for _, cid, cn in senders:
        assert cid.startswith(cn)
    assert len({s[1] for s in senders}) == 3
    work = work_dir(out)
    assert not work.exists()
    assert processes_in(work) == []


def test_demo_fails_loudly_without_a_build(tmp_path):
    p = subprocess.run([sys.executable, str(TOP / "tools" / "demo.py"), "--build", str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "is not built" in p.stderr


def test_demo_interrupted_stops_everything_and_removes_its_work_dir():
    proc = subprocess.Popen(DEMO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    work = work_dir(first)
    assert work.exists()
    # interrupt once the devices run (step 3), so there is something to stop
    seen = first
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
        if "$ rampart-device run devices/dev3 &" in line:
            break
    assert "rampart-device run devices/dev3" in seen, seen
    time.sleep(1)
    assert processes_in(work), "the devices should be running"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, seen + out + err
    assert "interrupted" in err
    assert not work.exists()
    assert processes_in(work) == []

"""The device group's crash-dump opt-in reaches rampartd (docs/failures.md):
the check-in reply carries `policy.crash_dumps`, the update agent hands it
to the failure uploader, which keeps it in <data>/upload-policy.json across
reboots and sends crash dumps only while the group allows them. A group
switched to no dumps gets its next crash without the dump, stripped on the
device (the service has nothing to discard). A real app crash carries the
dump rampartd's supervisor captured, and it reaches the service."""
import json
import re

import pytest

from conftest import binary, run
from test_apps import EX, IDS, dev_cmd, example_manifest, grant, keypair, pack, wait_log
from test_updates_device import World, no_sanitizer_reports, wait_for

ENV = {"RAMPARTD_UPLOAD_POLL_S": "1", "RAMPARTD_UPLOAD_INTERVAL_S": "1",
       "RAMPARTD_UPLOAD_BACKOFF_MIN_S": "1", "RAMPARTD_UPLOAD_BACKOFF_MAX_S": "2"}
DUMP = "AAAA" * 8                     # 24 bytes decoded
YES, NO = '{"crash_dumps":true}\n', '{"crash_dumps":false}\n'


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = World(tmp_path_factory.mktemp("dump-policy"))
    world.os["1.0.0"] = world.make_os("1.0.0", 1)
    world.release(world.os["1.0.0"])
    world.publish_os(world.os["1.0.0"])          # the platform targets exist: check-ins succeed
    yield world
    assert world.srv.stop() == 0


def policy_file(w):
    p = w["dev"].dir / "data" / "upload-policy.json"
    return p.read_text() if p.exists() else None


def queue_crash(w, tmp_path, component):
    """A crash with a dump in the device's failure queue, recorded while
    rampartd is stopped (the queue's own code, rampart-failq-upload)."""
    ev = {"class": "app_crash", "component_id": component, "component_version": "1.0",
          "time_first": 1700000000, "time_last": 1700000000, "count": 1, "signal": 11,
          "si_code": 1, "fault_addr": "0x0", "pc": "0x401000", "dump": DUMP,
          "frames": [{"module": "app", "build_id": "ab" * 20, "function": "crash_here",
                      "offset": 4, "module_offset": 4096}]}
    f = tmp_path / f"{component}.json"
    f.write_text(json.dumps(ev))
    cmd = [binary("rampart-failq-upload"), "--queue", w["dev"].dir / "data" / "failures", "record", f]
    # the stopped device's processes may hold the queue's lock a moment longer
    wait_for(lambda: run(cmd, check=False).returncode == 0, "the queue to be free")


def stored(w, component):
    return w["server"].db_query("SELECT ueid, length(dump) FROM failure_events WHERE component_id = ?",
                                (component,))


def discarded(w):
    m = re.search(r"^rampart_failure_dumps_discarded_total (\d+)$",
                  w["server"].api("GET", "/metrics").text, re.M)
    return int(m.group(1)) if m else 0


def test_dumps_follow_the_group_opt_in(world, tmp_path):
    d = world.device(world.os["1.0.0"], group="Development")
    w = {"server": world.srv, "admin": world.admin, "ueid": d.ueid, "dev": d}
    gid = d.group
    grp = w["server"].api("GET", f"/api/v1/device-groups/{gid}", w["admin"]).json()
    assert grp["crash_dumps_allowed"] is True, grp          # Development allows dumps

    # no answer from the service yet: no file, no dumps
    assert policy_file(w) is None
    w["dev"].start(env=ENV)
    wait_for(lambda: policy_file(w) == YES or None, "the opt-in from a check-in", log=w["dev"].log)
    w["dev"].stop()

    # after a reboot the kept yes applies: the dump travels and is stored
    queue_crash(w, tmp_path, "dumps-on")
    before = discarded(w)
    w["dev"].start(env=ENV)
    rows = wait_for(lambda: stored(w, "dumps-on") or None, "the crash at the service",
                    log=w["dev"].log)
    assert rows == [(w["ueid"], 24)], rows
    assert discarded(w) == before

    # the group says no: the next check-in tells the device
    r = w["server"].api("PATCH", f"/api/v1/device-groups/{gid}", w["admin"],
                        json={"crash_dumps_allowed": False})
    assert r.status_code == 200, r.text
    wait_for(lambda: policy_file(w) == NO or None, "the opt-out from a check-in", log=w["dev"].log)
    assert "crash dumps not allowed by the device group" in w["dev"].log()
    w["dev"].stop()

    # the next crash leaves without its dump: stripped on the device, so the
    # service discards nothing
    queue_crash(w, tmp_path, "dumps-off")
    assert policy_file(w) == NO                              # kept across the reboot
    w["dev"].start(env=ENV)
    rows = wait_for(lambda: stored(w, "dumps-off") or None, "the second crash at the service",
                    log=w["dev"].log)
    assert rows == [(w["ueid"], None)], rows
    assert discarded(w) == before
    w["dev"].stop()
    no_sanitizer_reports(w["dev"])


def test_a_real_app_crash_carries_its_dump_to_the_service(world, tmp_path):
    """The crasher example app crashes under rampartd's supervisor on a
    device whose group allows dumps: the event the service stores has the
    dump the supervisor's crash monitor took (RPDUMP01, within the cap)."""
    d = world.device(world.os["1.0.0"], group="Development")
    w = {"server": world.srv, "admin": world.admin, "ueid": d.ueid, "dev": d}
    w["key"], pub = keypair(tmp_path, "dev")
    grant(w, [pub], tmp_path / "cap.jws")
    d.start(env=dict(ENV, RAMPARTD_APP_BACKOFF_MIN_MS="200"))
    wait_for(lambda: policy_file(w) == YES or None, "the opt-in from a check-in", log=d.log)
    wait_for(lambda: "development capability fetched: 1 key(s)" in d.log() or None,
             "the capability fetch", log=d.log)
    wait_for(lambda: (d.dir / "data" / "run" / "control.sock").exists() or None,
             "the control socket", log=d.log)
    # a sanitizer build's app catches SIGSEGV itself (and exits 1): crash by abort() there
    sanitized = b"__asan_init" in (EX / "app-crasher").read_bytes()
    mode, sig = ("abort", 6) if sanitized else ("segv", 11)
    m = example_manifest("crasher", CmdArgs=[mode, "20"])
    dev_cmd(w, "sideload", pack(tmp_path, m, "crasher", "1", w["key"]))
    wait_log(w, "crasher", "crasher: waiting for GPIO 20")
    (d.dir / "data" / "board" / "gpio" / "20").write_text("1\n")
    crashes = lambda: w["server"].db_query(
        "SELECT ueid, signal, dump FROM failure_events WHERE component_id = ? AND class = 'app_crash'",
        (IDS["crasher"],))
    rows = wait_for(lambda: crashes() or None, "the app crash at the service", log=d.log)
    (d.dir / "data" / "board" / "gpio" / "20").write_text("0\n")
    ueid, got_sig, blob = rows[0]
    assert (ueid, got_sig) == (w["ueid"], sig), rows
    assert blob is not None, rows
    assert 1024 <= len(blob) <= 16 * 1024, len(blob)
    assert bytes(blob[:8]) == b"RPDUMP01", bytes(blob[:16])
    d.stop()
    no_sanitizer_reports(d)

"""The device group's crash-dump opt-in reaches rampartd (docs/failures.md):
the check-in reply carries `policy.crash_dumps`, the update agent hands it
to the failure uploader, which keeps it in <data>/upload-policy.json across
reboots and sends crash dumps only while the group allows them. A group
switched to no dumps gets its next crash without the dump, stripped on the
device (the service has nothing to discard)."""
import json
import re

import pytest

from conftest import binary, run
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

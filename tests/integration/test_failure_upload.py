"""rampartd uploads its failure queue (src/runtime/upload_timer.c): an app
crash on a real emulated device reaches the service through rampartd's own
uploader over mTLS with the platform certificate, is bucketed under the
certificate's device with its symbolized frames, and leaves the queue only
after the service acknowledged it. Before the device holds a certificate
nothing is sent and the events wait."""
import json
import re

from conftest import binary, run  # noqa: F401
from server_fixture import *  # noqa: F401,F403  (fixtures: server, make_server)
from test_apps import IDS, app_log, dev_cmd, example_manifest, grant, keypair, pack
from test_rampartd import osimg, release, wait_for, world  # noqa: F401  (fixtures)

FAST_UPLOAD = {"RAMPARTD_UPLOAD_POLL_S": "1", "RAMPARTD_UPLOAD_INTERVAL_S": "1",
               "RAMPARTD_UPLOAD_BACKOFF_MIN_S": "1", "RAMPARTD_UPLOAD_BACKOFF_MAX_S": "2",
               "RAMPARTD_APP_BACKOFF_MIN_MS": "300"}


def queued(w):
    raw = (w["dev"].dir / "data" / "failures" / "queue").read_text()
    return json.loads(raw.split("\n", 1)[1])["events"]


def buckets(w):
    r = w["server"].api("GET", "/api/v1/failures/buckets?limit=100", w["admin"])
    assert r.status_code == 200, r.text
    return [b for b in r.json()["items"] if b["component_id"] == IDS["crasher"]]


def test_crash_reaches_the_service_through_rampartd(world, tmp_path):
    w = world
    release(w, "1.0.0")
    w["dev"].start(env=FAST_UPLOAD)
    w["dev"].wait_status(lambda s: s["state"] == "attested", "attestation")
    wait_for(lambda: (w["dev"].dir / "data" / "run" / "control.sock").exists(), "the control socket",
             log=w["dev"].log)
    key, pub = keypair(tmp_path, "dev")
    dev_cmd(w, "grant", grant(w, [pub], tmp_path / "cap.jws"))
    dev_cmd(w, "sideload", pack(tmp_path, example_manifest("crasher"), "crasher", "1", key))
    wait_for(lambda: "crasher: waiting for GPIO 20" in app_log(w, "crasher"), "crasher to start",
             log=w["dev"].log)
    assert buckets(w) == []
    (w["dev"].dir / "data" / "board" / "gpio" / "20").write_text("1\n")
    bs = wait_for(lambda: (lambda b: b if b and b[0]["hits"] >= 2 else None)(buckets(w)),
                  "two crashes at the service", log=w["dev"].log)
    (w["dev"].dir / "data" / "board" / "gpio" / "20").write_text("0\n")
    assert len(bs) == 1 and bs[0]["devices"] == 1 and bs[0]["class"] == "app_crash"
    one = w["server"].api("GET", f"/api/v1/failures/buckets/{bs[0]['id']}", w["admin"]).json()
    # the device is the certificate's; the frames are symbolized
    assert {s["ueid"] for s in one["samples"]} == {w["ueid"]}
    fns = [f["function"] for f in one["samples"][0]["frames"] if f["module"] == "crasher"]
    assert fns[:2] == ["crash_now", "main"], one["samples"][0]
    assert re.search(r"failures: uploaded \d+ failure event\(s\) in \d+ batch\(es\)", w["dev"].log())
    # acknowledged events left the queue
    wait_for(lambda: not [e for e in queued(w) if e["event"]["component_id"] == IDS["crasher"]
                          and not e["inflight"]] or None, "the queue to drain", log=w["dev"].log)


def test_events_wait_in_the_queue_without_a_certificate(world, tmp_path):
    """An unreleased OS gets no certificate: its attest_fail events stay
    queued, and nothing reaches the service."""
    w = world
    w["dev"].start(env=FAST_UPLOAD)
    w["dev"].wait_status(lambda s: s["state"] != "attested" and s.get("consecutive_failures", 0) >= 2,
                         "two refused attestations")
    wait_for(lambda: any(e["event"]["class"] == "attest_fail" for e in queued(w)), "attest_fail queued",
             log=w["dev"].log)
    r = w["server"].api("GET", "/api/v1/failures/events?limit=100", w["admin"])
    assert r.status_code == 200 and r.json()["items"] == [], r.text
    assert "failures: uploaded" not in w["dev"].log()

#!/usr/bin/python3
"""failures_ingest: failure batches/s ingested by rampart-server from many
simulated devices, and the server's CPU per event, side by side with the
server's bare authenticated device request (GET /device/v1/ping) in the same
run; prints the ratio (the cost of parse + bucketing + storage over the bare
mTLS request).

    bench/failures_ingest.py BUILD_DIR [--devices N] [--seconds S] [--events E]

Every simulated device is real as far as the server can tell: provisioned by
rampart-device (DICE DeviceID, registration record), imported, claimed, and
enrolled through the EST flow (rampart-attest-forge measures the boot over
the device directory; the server verifies and issues the platform
certificate). The load generator (rampart-bench-failures) keeps one
keep-alive mTLS connection per device. The server runs pinned to one CPU,
the load generator to the other (2-core machines); server CPU is read from
/proc/<pid>/stat before and after each phase."""
import argparse
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

TOP = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP / "tests" / "integration"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--devices", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--events", type=int, default=8)
    a = ap.parse_args()
    os.environ["RAMPART_BUILD"] = str(pathlib.Path(a.build).resolve())
    from conftest import binary, run  # noqa: E402  (RAMPART_BUILD must be set first)
    from entity_fixture import Factory, add_manufacturer, group_named, import_records, make_product
    from server_fixture import Server

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="rp-bench-fail-"))
    ncpu = os.cpu_count() or 1
    pin_srv = ["taskset", "-c", "1"] if ncpu >= 2 and shutil.which("taskset") else []
    pin_gen = ["taskset", "-c", "0"] if pin_srv else []
    srv = Server(tmp / "data", ["--rate-limit", "0"])
    srv.start()
    try:
        if pin_srv:
            subprocess.run(["taskset", "-pc", "1", str(srv.proc.pid)], check=True,
                           capture_output=True)
        f = Factory(tmp / "factory")
        add_manufacturer(srv, f)
        r = srv.api("POST", "/api/v1/os-releases", srv.bootstrap_token,
                    json={"name": "rampart-os", "version": "1.0.0", "svn": 1,
                          "sha256": hashlib.sha256(b"rampart-os-1.0.0").hexdigest()})
        assert r.status_code == 201, r.text
        tid, admin = srv.create_tenant("bench")
        prod = make_product(srv, admin)
        group = group_named(prod, "Field Test")
        devdir = tmp / "devices"
        devdir.mkdir()
        recs = f.provision(a.devices)
        r = import_records(srv, recs)
        assert r.status_code == 200, r.text
        for i, rec in enumerate(recs):
            r = srv.api("POST", "/api/v1/devices", admin, json={"ueid": rec["ueid"], "group": group})
            assert r.status_code == 201, r.text
            d = devdir / f"dev{i}"
            d.mkdir()
            nonce = srv.api("POST", f"/.well-known/est/{tid}/nonce").json()["nonce"]
            body = d / "enroll.json"
            run([binary("rampart-attest-forge"), "--dir", f.dir / f"dev{i + 1}", "--nonce", nonce,
                 "--out", body, "--key-out", d / "platform.key"])
            r = srv.api("POST", f"/.well-known/est/{tid}/simpleenroll", data=body.read_text(),
                        headers={"Content-Type": "application/json",
                                 "Accept": "application/x-pem-file"})
            assert r.status_code == 200, r.text
            (d / "platform.pem").write_text(r.text)

        gen = pathlib.Path(a.build).resolve() / "bench" / "rampart-bench-failures"

        def cpu():
            st = pathlib.Path(f"/proc/{srv.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")

        def conns():
            t = srv.api("GET", "/metrics").text
            return int(next(l.split()[1] for l in t.splitlines()
                            if l.startswith("rampart_http_connections_total ")))

        def phase(mode):
            k0 = conns()
            c0 = cpu()
            p = run(pin_gen + [gen, "--url", srv.url, "--ca",
                               srv.data_dir / "server.crt", "--devices", devdir, "--mode", mode,
                               "--seconds", a.seconds, "--conns", a.devices, "--events",
                               a.events])
            res = json.loads(p.stdout)
            res["cpu_s"] = cpu() - c0
            res["conns"] = conns() - k0 - 1
            return res

        phase("ping")                    # warm-up: TLS sessions, caches
        ping = phase("ping")
        ingest = phase("ingest")
        stored = srv.db_query("SELECT count(*), coalesce(sum(count), 0) FROM failure_events")[0]
        buckets = srv.db_query("SELECT count(*) FROM failure_buckets")[0][0]
        assert stored[0] == ingest["events"], (stored, ingest)

        ping_cpu = ping["cpu_s"] / ping["ok"] * 1e6
        batch_cpu = ingest["cpu_s"] / ingest["ok"] * 1e6
        event_cpu = ingest["cpu_s"] / ingest["events"] * 1e6
        print(f"failures_ingest: {a.devices} devices, {a.seconds:g} s per phase, "
              f"{a.events} events/batch (8 frames each), {ncpu} CPUs "
              f"({'server and generator pinned apart' if pin_srv else 'not pinned'})")
        print(f"  {'request':34} {'req/s':>9} {'server CPU/req':>15} {'per event':>10}")
        print(f"  {'GET /device/v1/ping (mTLS, no-op)':34} {ping['per_s']:9.0f} "
              f"{ping_cpu:12.0f} us {'':>10}")
        print(f"  {'POST /device/v1/failures':34} {ingest['per_s']:9.0f} "
              f"{batch_cpu:12.0f} us {event_cpu:7.0f} us")
        print(f"  ratio ingest/ping: throughput {ingest['per_s'] / ping['per_s']:.2f}, "
              f"server CPU per request {batch_cpu / ping_cpu:.2f}x")
        print(f"  TLS connections opened: {ping['conns']} (ping), {ingest['conns']} (ingest)")
        print(f"  stored: {stored[0]} events in {buckets} buckets; server CPU busy "
              f"{ping['cpu_s'] / ping['seconds'] * 100:.0f}% (ping), "
              f"{ingest['cpu_s'] / ingest['seconds'] * 100:.0f}% (ingest)")
    finally:
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

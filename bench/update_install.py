"""update_install: the install of an OS image package on an emulated device,
end to end, side by side with `curl -o` of the same file from the same
server followed by `openssl dgst -sha256`, in the same run.

Run by bench/update_install.sh BUILD_DIR [SIZE_MIB] [RUNS]. One
rampart-server (SQLite, loopback), the platform repository (`rampart repo`,
the server's online keys), a device A booted with `rampart-device run`
(attested, checking in every 100 ms) and a device B whose certificate and
key come from a simulated attestation (for curl's mTLS). Each run deploys a
new OS image package of SIZE_MIB to their group:

  rampartd   from the agent's "downloading" log line to "installed into slot
             b": download over mTLS (streamed to disk, SHA-256 on the fly,
             length cap), fsync and rename, install-os through the monitor
             (rampart-boot verifies the package against the fused platform
             key, copies it into the inactive slot, fsyncs, verifies the copy
             again, activates the slot as a trial), and the agent's record;
  baseline   curl -o of the same URL with B's certificate, then openssl dgst
             -sha256 of the file (no fsync, no second verification).

It also samples rampartd's VmHWM (peak RSS) from /proc during the install.
Prints both times, the ratio (target <= 1.3) and the peak RSS (target < 8 MiB).
KEEP=1 keeps the scratch directory (server data, device logs) and names it."""
import hashlib
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOP = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP / "tests" / "integration"))
BUILD = pathlib.Path(sys.argv[1]).resolve()
os.environ["RAMPART_BUILD"] = str(BUILD)
SIZE_MIB = int(sys.argv[2]) if len(sys.argv) > 2 else 64
RUNS = int(sys.argv[3]) if len(sys.argv) > 3 else 3

from conftest import binary, run  # noqa: E402
from entity_fixture import Factory, add_manufacturer, group_named, import_records, make_product  # noqa: E402
from server_fixture import Server  # noqa: E402

TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z")


def log_time(line):
    m = TS.match(line)
    t = time.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S")
    return time.mktime(t) + int(m.group(1)[20:]) / 1000.0


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="rp-bench-upd-"))
    srv = Server(tmp / "data", ["--rate-limit", "0"]).start()
    dev_proc = None
    try:
        cfgs = {}

        def cli(who, *args):
            env = dict(os.environ, RAMPART_CONFIG=str(cfgs[who]))
            return run([binary("rampart"), *args], env=env)

        def login(who, token):
            cfgs[who] = tmp / f"cfg-{who}.json"
            env = dict(os.environ, RAMPART_CONFIG=str(cfgs[who]))
            run([binary("rampart"), "login", "--server", srv.url, "--token", token,
                 "--fingerprint", srv.fingerprint], env=env)

        login("platform", srv.bootstrap_token)
        tid, admin = srv.create_tenant("bench-" + os.urandom(3).hex())
        login("tenant", admin)
        repo = tmp / "repo"
        cli("platform", "repo", "server-keys", "--out", tmp / "server-keys")
        args = []
        for role in ("snapshot", "timestamp", "director"):
            args += ["--online-key", f"{role}={tmp / 'server-keys' / (role + '.pub.pem')}"]
        run([binary("rampart"), "repo", "init", "--dir", repo, *args])
        fac_dir = tmp / "factory"
        fac_dir.mkdir()
        shutil.copy(repo / "keys" / "targets.pem", fac_dir / "platform.key")
        (fac_dir / "platform.pub").write_bytes(subprocess.run(
            ["openssl", "pkey", "-in", str(fac_dir / "platform.key"), "-pubout"],
            capture_output=True, check=True).stdout)
        fac = Factory(fac_dir)
        add_manufacturer(srv, fac)
        cli("platform", "repo", "upload", "root", repo / "metadata" / "1.root.json")

        def make_os(version, svn, filler_mib):
            exe = tmp / f"rampartd-{version}"
            shutil.copy(binary("rampartd"), exe)
            if filler_mib:
                # trailing bytes after an ELF's sections are ignored by the loader
                with open(exe, "ab") as f:
                    for _ in range(filler_mib):
                        f.write(os.urandom(1 << 20))
            out = tmp / f"os-{version}.pkg"
            p = run([binary("rampart-device"), "make-os", "--out", out, "--version", version,
                     "--svn", svn, "--key", fac_dir / "platform.key", "--rampartd", exe,
                     "--tuf-root", repo / "metadata" / "1.root.json"])
            fwid = re.search(r"image digest \(fwid\): ([0-9a-f]{64})", p.stdout).group(1)
            exe.unlink()
            return out, fwid

        base, fwid = make_os("1.0.0", 1, 0)
        r = srv.api("POST", "/api/v1/os-releases", srv.bootstrap_token,
                    json={"name": "rampart-os", "version": "1.0.0", "svn": 1, "sha256": fwid})
        assert r.status_code in (201, 409), r.text
        prod = make_product(srv, admin)
        group = group_named(prod, "Production")
        recs = fac.provision(2)
        assert import_records(srv, recs).status_code == 200
        for rec in recs:
            r = srv.api("POST", "/api/v1/devices", admin, json={"ueid": rec["ueid"], "group": group})
            assert r.status_code == 201, r.text
        dev = fac.dir / "dev1"
        run([binary("rampart-device"), "install-os", dev, "--slot", "a", base])
        run([binary("rampart-device"), "configure", dev, "--server", srv.url, "--tenant", tid,
             "--server-ca", srv.data_dir / "server.crt"])
        # device B: a certificate and key for curl, from a simulated attestation
        nonce = srv.api("POST", f"/.well-known/est/{tid}/nonce").json()["nonce"]
        body, key, crt = tmp / "b.json", tmp / "b.key", tmp / "b.crt"
        run([binary("rampart-attest-forge"), "--dir", fac.dir / "dev2", "--nonce", nonce,
             "--os-version", "1.0.0", "--svn", "1", "--fwid", fwid, "--out", body, "--purpose", "platform",
             "--key-out", key])
        r = srv.session.post(srv.url + f"/.well-known/est/{tid}/simpleenroll",
                             data=body.read_text(), verify=False, timeout=30,
                             headers={"Content-Type": "application/json",
                                      "Accept": "application/x-pem-file"})
        assert r.status_code == 200, r.text
        crt.write_bytes(r.content)

        results = []
        maps = []
        for i in range(RUNS):
            version = f"2.0.{i}"
            pkg, _ = make_os(version, 2, SIZE_MIB)
            run([binary("rampart"), "repo", "add-target", "--dir", repo, "--trust",
                 fac_dir / "platform.pub", pkg])
            cli("platform", "image", "upload", pkg, "--targets", repo / "metadata" / "targets.json")
            digest = hashlib.sha256(pkg.read_bytes()).hexdigest()
            imgs = srv.api("GET", "/api/v1/images", admin).json()["items"]
            img_id = next(x["id"] for x in imgs if x["sha256"] == digest)

            # each run starts from a device on 1.0.0 in slot a: a fresh copy
            d = tmp / f"dev-run{i}"
            if d.exists():
                shutil.rmtree(d)
            shutil.copytree(dev, d, symlinks=True)
            log_path = tmp / f"device-run{i}.log"
            env = dict(os.environ, RAMPARTD_UPDATE_INTERVAL_MS="100", RAMPARTD_UPDATE_RETRY_MS="100")
            env.pop("RP_FAULT", None)
            # deployed before the device starts, so its first check-in gets it
            subprocess.run([binary("rampart"), "deployment", "create", "--group", group,
                            "--image", img_id, "--output", "json"],
                           env=dict(os.environ, RAMPART_CONFIG=str(cfgs["tenant"])),
                           capture_output=True, text=True, check=True)
            logf = open(log_path, "w")
            dev_proc = subprocess.Popen([binary("rampart-device"), "run", str(d), "--max-boots", "1"],
                                        stdout=logf, stderr=logf, env=env, start_new_session=True)
            st_path = d / "data" / "status.json"
            deadline = time.monotonic() + 60
            pid = None
            while time.monotonic() < deadline:
                try:
                    s = json.loads(st_path.read_text())
                    if s["state"] == "attested":
                        pid = s["pid"]
                        break
                except (OSError, ValueError, KeyError):
                    pass
                time.sleep(0.02)
            assert pid, log_path.read_text()
            hwm_before = hwm = anon = rfile = 0
            with open(f"/proc/{pid}/status") as f:
                hwm_before = int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))
            # resident kB per mapped file (and [heap], [stack], anonymous) when attested
            by_map = {}
            with open(f"/proc/{pid}/smaps") as f:
                name = None
                for line in f:
                    m = re.match(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$", line)
                    if m:
                        name = os.path.basename(m.group(1)) or "[anonymous]"
                    elif line.startswith("Rss:"):
                        by_map[name] = by_map.get(name, 0) + int(line.split()[1])
            maps.append(by_map)
            stop = threading.Event()

            def sample():
                nonlocal hwm, anon, rfile
                while not stop.is_set():
                    try:
                        with open(f"/proc/{pid}/status") as f:
                            st = f.read()
                        hwm = max(hwm, int(re.search(r"VmHWM:\s+(\d+)", st).group(1)))
                        anon = max(anon, int(re.search(r"RssAnon:\s+(\d+)", st).group(1)))
                        rfile = max(rfile, int(re.search(r"RssFile:\s+(\d+)", st).group(1)) +
                                    int(re.search(r"RssShmem:\s+(\d+)", st).group(1)))
                    except (OSError, AttributeError):
                        return
                    time.sleep(0.005)

            th = threading.Thread(target=sample)
            th.start()
            dev_proc.wait(timeout=300)      # --max-boots 1: powers off at the reboot
            dev_proc = None
            stop.set()
            th.join()
            logf.close()
            lines = log_path.read_text().splitlines()
            t0 = next(log_time(l) for l in lines if "update: downloading" in l)
            assert f"installed into slot b" in "".join(lines) and f"OS {version} " in "".join(lines)
            t1 = next(log_time(l) for l in lines if "installed into slot b" in l)
            agent = t1 - t0

            # baseline: the same file from the same server, then its SHA-256
            out = tmp / "curl.out"
            t = time.monotonic()
            subprocess.run(["curl", "-sS", "--fail", "--cacert", str(srv.data_dir / "server.crt"),
                            "--cert", str(crt), "--key", str(key), "-o", str(out),
                            f"{srv.url}/device/v1/images/{digest}"], check=True)
            dg = subprocess.run(["openssl", "dgst", "-sha256", str(out)], capture_output=True,
                                text=True, check=True).stdout
            base_s = time.monotonic() - t
            assert digest in dg, dg
            out.unlink()
            results.append((agent, base_s, hwm_before, hwm, anon, rfile))
            print(f"run {i + 1}: rampartd install {agent * 1000:.0f} ms, curl -o + openssl dgst "
                  f"{base_s * 1000:.0f} ms, ratio {agent / base_s:.2f}; rampartd VmHWM "
                  f"{hwm_before / 1024:.1f} MiB when attested, {hwm / 1024:.1f} MiB peak "
                  f"(RssAnon at most {anon / 1024:.1f} MiB, RssFile+RssShmem at most "
                  f"{rfile / 1024:.1f} MiB)",
                  flush=True)
            shutil.rmtree(d)
            pkg.unlink()

        a = statistics.median(r[0] for r in results)
        b = statistics.median(r[1] for r in results)
        peak = max(r[3] for r in results)
        peak_anon = max(r[4] for r in results)
        peak_file = max(r[5] for r in results)
        print(f"\nupdate_install ({SIZE_MIB} MiB OS image package, median of {RUNS}):")
        print(f"  rampartd end to end (download, verify, write, switch): {a * 1000:.0f} ms "
              f"({SIZE_MIB / a:.0f} MiB/s)")
        print(f"  curl -o + openssl dgst -sha256:                        {b * 1000:.0f} ms "
              f"({SIZE_MIB / b:.0f} MiB/s)")
        ratios = sorted(r[0] / r[1] for r in results)
        print(f"  ratio: {a / b:.2f}x of the medians; per run {ratios[0]:.2f}..{ratios[-1]:.2f}x, "
              f"median {statistics.median(ratios):.2f}x (target <= 1.3x)")
        print(f"  rampartd peak RSS during the install: VmHWM {peak / 1024:.1f} MiB (target < 8 MiB); "
              f"RssAnon (heap, stacks, relocated data) at most {peak_anon / 1024:.1f} MiB, "
              f"RssFile (+RssShmem) at most {peak_file / 1024:.1f} MiB")
        last = maps[-1]
        files = [k for k in last if not k.startswith("[")]
        top = sorted(last.items(), key=lambda kv: -kv[1])[:8]
        print(f"  resident when attested, by mapping ({len(files)} files mapped): " +
              ", ".join(f"{k} {v / 1024:.1f}" for k, v in top) + " MiB")
    finally:
        if dev_proc:
            os.killpg(dev_proc.pid, 9)
        srv.stop()
        if not os.environ.get("KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept", tmp)


if __name__ == "__main__":
    main()
